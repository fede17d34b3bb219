#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need beyond scripts/setup.sh's, idempotently:
# libvirt's daemon, its QEMU driver and virsh, for bench/libvirt.bench.ts (which starts and
# stops its own private libvirtd; nothing here starts a service). Run as root.
set -euo pipefail
packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vmlaunch bench setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "vmlaunch bench setup: need root to install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
