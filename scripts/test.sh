#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian packages, npm deps, the
# native addon, the default guest, dpdk-testpmd), checks the code, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "vmlaunch test: default guest (built from Debian packages on first use, then cached)"
bash scripts/guest/build.sh --quiet >/dev/null
npx tsx scripts/fetch-testpmd.ts
npm run check
npx vitest run "$@"
