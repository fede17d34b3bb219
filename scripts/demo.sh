#!/usr/bin/env bash
# The README's main job: installs what it needs, then runs `vmlaunch demo` on the default guest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/vmlaunch.js demo "$@"
