#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian packages, npm deps, the
# native addon, the default guest, dpdk-testpmd), checks the code, runs every test; then, as a
# separate step, builds the cloud-init guest and runs its e2e (vitest.cloudinit.config.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "vmlaunch test: default guest (built from Debian packages on first use, then cached)"
bash scripts/guest/build.sh --quiet >/dev/null
npx tsx scripts/fetch-testpmd.ts
npm run check
npx vitest run "$@"
# The cloud-init guest's e2e: a step of its own (slow under TCG), after the image is built or
# found in the cache. Only in a full run: arguments name the tests to run in the main step.
if [ $# -eq 0 ]; then
  echo "vmlaunch test: cloud-init guest (built from Debian packages on first use, then cached)"
  bash scripts/guest/cloud-image.sh --quiet >/dev/null
  npx vitest run --config vitest.cloudinit.config.ts
fi
