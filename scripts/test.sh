#!/usr/bin/env bash
# The README's test command: installs what the tests need, checks the code, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run check
npx vitest run "$@"
