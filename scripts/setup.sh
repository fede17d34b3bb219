#!/usr/bin/env bash
# Installs what vmlaunch needs on a Debian 12 host, idempotently: Debian packages, npm
# dependencies, the native addon and the compiled TypeScript. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the library and its tests use (the guest builder installs its own tools).
packages=(iproute2 iputils-ping qemu-system-x86 qemu-utils e2fsprogs containernetworking-plugins util-linux ca-certificates python3 make g++)
# The NoCloud seed drive of a VM (docs/guest-network.md): mkfs.vfat and mcopy.
packages+=(dosfstools mtools)
# The cloud-init guest (scripts/guest/cloud-image.sh, docs/cloud-init-guest.md).
packages+=(mmdebstrap)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vmlaunch setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "vmlaunch setup: need root to install ${missing[*]} (run as root, or install them first)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

# npm dependencies (npm ci also builds the addon and the TypeScript through our install and
# prepare scripts); otherwise rebuild only what is stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "vmlaunch setup: npm ci"
  npm ci --no-audit --no-fund
else
  if [ ! -f native/build/Release/vmlaunch_native.node ] || [ -n "$(find native/src native/binding.gyp -newer native/build/Release/vmlaunch_native.node 2>/dev/null)" ]; then
    node native/build.mjs
  fi
  npx tsc -p tsconfig.build.json
fi
