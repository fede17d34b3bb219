#!/usr/bin/env bash
# Builds an ext4 root filesystem image for the default guest from Debian 12 packages only:
# busybox-static and scripts/guest/init (the same init: booted with root=/dev/vdX, the
# initramfs's init switch_roots into this image and runs its /init as stage 'root').
# The image is filled with `mkfs.ext4 -d DIR` (e2fsprogs), never loop-mounted.
#
# Output is cached in ${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vmlaunch}/rootfs/<key>/
# (rootfs.ext4, manifest.json). <key> hashes this script, init and the busybox version.
# Treat the cached image as read-only: boot it as an ephemeral drive, or copy it.
#
# Usage: scripts/guest/rootfs.sh [--force]
#   Progress goes to stderr; the last stdout line is one JSON object:
#   {"key":..,"dir":..,"image":..,"manifest":..,"cached":true|false}
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
force=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "rootfs.sh: unknown argument '$a' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "vmlaunch rootfs: $*" >&2; }
die() {
  echo "vmlaunch rootfs: error: $*" >&2
  exit 1
}

BUSYBOX_PKG=busybox-static
SIZE_MIB=32
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
cache_root=${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmlaunch}/rootfs
mkdir -p "$cache_root"

for t in apt-get apt-cache dpkg-deb mkfs.ext4 sha256sum flock; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (Debian: apt-get install apt dpkg e2fsprogs coreutils util-linux)"
done

# Package, version, SHA256 and size of the busybox candidate.
busybox_line() {
  apt-cache show --no-all-versions "$BUSYBOX_PKG" 2>/dev/null | awk '
    /^Package: /{p=$2} /^Version: /{v=$2} /^SHA256: /{h=$2} /^Size: /{s=$2} END{if (p != "") print p, v, h, s}'
}
line=$(busybox_line)
if [ -z "$line" ]; then
  [ "$(id -u)" = 0 ] || die "cannot resolve $BUSYBOX_PKG and apt-get update needs root"
  log "apt-get update"
  apt-get update -q >&2 || die "apt-get update failed"
  line=$(busybox_line)
fi
read -r b_name b_ver b_sha b_size <<<"$line"
[ -n "${b_sha:-}" ] || die "apt-cache show $BUSYBOX_PKG gave no version/SHA256"

key=$(printf '%s\n' "$(cat "${BASH_SOURCE[0]}" "$here/init" | sha256sum | cut -c1-64)" "$b_name=$b_ver" "$SIZE_MIB" |
  sha256sum | cut -c1-16)
out="$cache_root/$key"
emit() { # cached
  printf '{"key":"%s","dir":"%s","image":"%s","manifest":"%s","cached":%s}\n' \
    "$key" "$out" "$out/rootfs.ext4" "$out/manifest.json" "$1"
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

work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building $key: $b_name $b_ver"
sandbox=()
[ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
(cd "$work" && apt-get download -q "${sandbox[@]}" "$b_name=$b_ver" >&2) || die "apt-get download $b_name=$b_ver failed"
deb=$(ls "$work"/"${b_name}"_*.deb)
[ "$(sha256sum "$deb" | cut -c1-64)" = "$b_sha" ] || die "$deb: sha256 does not match the package index"
[ "$(stat -c %s "$deb")" = "$b_size" ] || die "$deb: size does not match the package index"
dpkg-deb -x "$deb" "$work/pkg"
[ -x "$work/pkg/bin/busybox" ] || die "$b_name has no /bin/busybox"

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,root,mnt,etc/acpi/PWRF}
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp "$work/pkg/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
install -m 0755 "$here/init" "$root/init"
printf '#!/bin/sh\nsync\npoweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
chmod 0755 "$root/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
echo vmlaunch-rootfs >"$root/etc/hostname"
printf 'key=%s\nbusybox=%s\n' "$key" "$b_ver" >"$root/etc/vmlaunch-rootfs"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# -d copies the tree in; root_owner and a fixed UUID/hash seed keep the result the same.
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L vmlaunch-root -d "$root" \
  -U 6d1c5e0a-7b1e-4d3c-9a55-0f0c0ffee000 -E root_owner=0:0,hash_seed=6d1c5e0a-7b1e-4d3c-9a55-0f0c0ffee001 \
  "$work/rootfs.ext4" "${SIZE_MIB}M" >&2 || die "mkfs.ext4 -d failed"

cat >"$work/manifest.json" <<EOT
{
  "key": "$key",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "packages": [{"name": "$b_name", "version": "$b_ver", "sha256": "$b_sha", "size": $b_size}],
  "image": {"format": "raw", "fs": "ext4", "size_mib": $SIZE_MIB, "sha256": "$(sha256sum "$work/rootfs.ext4" | cut -c1-64)"}
}
EOT
stage="$work/out"
mkdir "$stage"
mv "$work/rootfs.ext4" "$stage/"
mv "$work/manifest.json" "$stage/" # last: its presence marks the image complete
rm -rf "$out"
mv -T "$stage" "$out"
log "built $out"
emit false
