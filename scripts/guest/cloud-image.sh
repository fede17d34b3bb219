#!/usr/bin/env bash
# Builds vmlaunch's cloud-init guest: an ext4 root image made with mmdebstrap from Debian 12
# packages only (systemd, cloud-init, netplan.io + systemd-networkd/-resolved, iproute2) plus
# the modules of the default guest's kernel. It boots with the default guest's kernel and
# initramfs (scripts/guest/build.sh) and `root=/dev/vda`: that init switch_roots into the image
# and runs its /init, here systemd. Files the image gets are in scripts/guest/cloud/; how to boot
# and test it is in docs/cloud-init-guest.md.
#
# Output is cached in ${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vmlaunch}/cloud/<key>/
# (rootfs.ext4, manifest.json). <key> hashes this script, the files in cloud/, the package list
# and the candidate versions of the main packages and of the kernel, so a rerun is a cache hit
# until one of them changes. Treat the image as read-only: boot it as an ephemeral drive.
#
# Usage: scripts/guest/cloud-image.sh [--json|--quiet] [--force]
#   Progress goes to stderr (with --quiet only errors and the cache line). The last stdout line
#   is one JSON object: {"key","dir","image","kernel","initrd","manifest","cached"}.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
quiet=0
force=0
for a in "$@"; do
  case "$a" in
    --json | --quiet) quiet=1 ;;
    --force) force=1 ;;
    -h | --help)
      sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "cloud-image.sh: unknown argument '$a' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "vmlaunch cloud guest: $*" >&2; }
die() {
  echo "vmlaunch cloud guest: error: $*" >&2
  exit 1
}

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://security.debian.org/debian-security
# What the image holds beyond minbase. netplan.io: the renderer Debian's own cloud images use;
# dbus: networkctl and resolvectl talk to their daemons over it; kmod: modprobe for vfat
# (the cidata seed) and the NIC; iputils-ping: the tests' ping.
PACKAGES=(systemd systemd-sysv systemd-resolved udev dbus kmod cloud-init netplan.io iproute2
  iputils-ping)
# Candidate versions in the cache key (the rest follow from these and the suite).
KEY_PACKAGES=(cloud-init netplan.io systemd)
SIZE_MIB=1024
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export SOURCE_DATE_EPOCH

# Same rule as launcher/cache-dir.ts: $VMLAUNCH_CACHE, else $XDG_CACHE_HOME/vmlaunch, else ~/.cache/vmlaunch.
cache_root=${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmlaunch}/cloud
mkdir -p "$cache_root"

for t in apt-get apt-cache dpkg-deb mkfs.ext4 sha256sum flock python3; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (Debian: apt-get install apt dpkg e2fsprogs coreutils util-linux python3)"
done
if ! command -v mmdebstrap >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "missing mmdebstrap (Debian: apt-get install mmdebstrap)"
  log "installing mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >&2 || die "apt-get install mmdebstrap failed"
fi

# The kernel: the default guest's (its manifest names the exact package), built or cached.
guest_json=$(bash "$here/build.sh" --json 2>/dev/null | tail -n1) || die "scripts/guest/build.sh failed (run it for details)"
read -r g_kernel g_initrd k_release k_name k_ver <<<"$(python3 -c '
import json, sys
g = json.loads(sys.argv[1])
m = json.load(open(g["manifest"]))
k = [p for p in m["packages"] if p["name"].startswith("linux-image-") and "deb" in p][0]
print(g["kernel"], g["initrd"], m["kernel_release"], k["name"], k["version"])' "$guest_json")"
[ -n "${k_ver:-}" ] || die "cannot read the kernel package from the default guest's manifest"

versions=$(apt-cache show --no-all-versions "${KEY_PACKAGES[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}')
[ "$(wc -l <<<"$versions")" = "${#KEY_PACKAGES[@]}" ] || die "cannot resolve ${KEY_PACKAGES[*]} with apt-cache (apt-get update?)"

files_hash=$(cat "${BASH_SOURCE[0]}" "$here"/cloud/* | sha256sum | cut -c1-64)
key=$(printf '%s\n' "$files_hash" "${PACKAGES[*]}" "$versions" "$k_name=$k_ver" "$SUITE" "$SIZE_MIB" |
  sha256sum | cut -c1-16)
out="$cache_root/$key"
emit() { # cached
  printf '{"key":"%s","dir":"%s","image":"%s","kernel":"%s","initrd":"%s","manifest":"%s","cached":%s}\n' \
    "$key" "$out" "$out/rootfs.ext4" "$g_kernel" "$g_initrd" "$out/manifest.json" "$1"
}
complete() { [ -s "$out/manifest.json" ] && [ -s "$out/rootfs.ext4" ]; }
if [ "$force" = 0 ] && complete; then
  log "cache hit: $out"
  emit true
  exit 0
fi
exec 9>"$cache_root/.lock"
flock 9
if [ "$force" = 0 ] && complete; then
  log "cache hit (built by a concurrent run): $out"
  emit true
  exit 0
fi

t0=$(date +%s.%N)
work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building $key: ${PACKAGES[*]} ($SUITE) + $k_name $k_ver modules"
sandbox=()
[ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
(cd "$work" && apt-get download -q "${sandbox[@]}" "$k_name=$k_ver" >&2) || die "apt-get download $k_name=$k_ver failed"
dpkg-deb -x "$work/${k_name}_"*.deb "$work/kernel"
[ -d "$work/kernel/lib/modules/$k_release" ] || die "$k_name has no /lib/modules/$k_release"

# The root tree. Hooks run on the host with the tree as $1: the kernel's modules (depmod in
# the tree: its modprobe finds vfat for the seed drive), the files from cloud/, /init for the
# default guest's switch_root (relative, so it resolves inside the new root), the services.
quiet_opt=()
[ "$quiet" = 0 ] || quiet_opt=(--quiet)
mmdebstrap "${quiet_opt[@]}" --variant=minbase --include="$(
  IFS=,
  echo "${PACKAGES[*]}"
)" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook="mkdir -p \"\$1/usr/lib/modules\" && cp -a '$work/kernel/lib/modules/$k_release' \"\$1/usr/lib/modules/\"" \
  --customize-hook="chroot \"\$1\" depmod -a '$k_release'" \
  --customize-hook="install -m 0644 '$here/cloud/90-vmlaunch.cfg' \"\$1/etc/cloud/cloud.cfg.d/\"" \
  --customize-hook="install -m 0755 '$here/cloud/vmlaunch-harness' \"\$1/usr/local/sbin/\"" \
  --customize-hook="install -m 0644 '$here/cloud/vmlaunch-harness.service' \"\$1/etc/systemd/system/\"" \
  --customize-hook='ln -sf lib/systemd/systemd "$1/init"' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd systemd-resolved cloud-init.target vmlaunch-harness.service && test -L "$1/etc/systemd/system/cloud-init.target.wants/vmlaunch-harness.service"' \
  --customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service' \
  --customize-hook='ln -sf ../run/systemd/resolve/stub-resolv.conf "$1/etc/resolv.conf"' \
  --customize-hook='mkdir -p "$1/etc/systemd/system.conf.d" && printf "[Manager]\nShowStatus=no\n" >"$1/etc/systemd/system.conf.d/vmlaunch.conf"' \
  --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"; echo localhost >"$1/etc/hostname"; : >"$1/etc/machine-id"' \
  "$SUITE" "$work/root" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main" \
  >&2 || die "mmdebstrap failed"
[ -x "$work/root/init" ] || die "the tree has no executable /init"
[ -x "$work/root/usr/bin/cloud-init" ] || die "the tree has no cloud-init"
printf 'key=%s\nkernel=%s %s\n' "$key" "$k_name" "$k_ver" >"$work/root/etc/vmlaunch-cloud"

E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L vmlaunch-cloud -d "$work/root" \
  -U 6d1c5e0a-7b1e-4d3c-9a55-0f0c0ffee010 -E root_owner=0:0,hash_seed=6d1c5e0a-7b1e-4d3c-9a55-0f0c0ffee011 \
  "$work/rootfs.ext4" "${SIZE_MIB}M" >&2 || die "mkfs.ext4 -d failed (is $SIZE_MIB MiB too small?)"
rm -rf "$work/root" "$work/kernel"

installed=$(printf '%s\n' "$versions" | sed 's/.*/"&"/' | paste -sd, -)
cat >"$work/manifest.json" <<EOT
{
  "key": "$key",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "suite": "$SUITE",
  "packages": [$(printf '"%s",' "${PACKAGES[@]}" | sed 's/,$//')],
  "versions": [$installed],
  "kernel": {"package": "$k_name", "version": "$k_ver", "release": "$k_release", "vmlinuz": "$g_kernel", "initrd": "$g_initrd"},
  "image": {"format": "raw", "fs": "ext4", "size_mib": $SIZE_MIB, "sha256": "$(sha256sum "$work/rootfs.ext4" | cut -c1-64)"},
  "boot": {"append": "root=/dev/vda", "ready_marker": "VMLAUNCH-GUEST-READY"}
}
EOT
stage="$work/out"
mkdir "$stage"
mv "$work/rootfs.ext4" "$stage/"
mv "$work/manifest.json" "$stage/" # last: its presence marks the image complete
rm -rf "$out"
mv -T "$stage" "$out"
t1=$(date +%s.%N)
log "built $out in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
emit false
