#!/usr/bin/env bash
# Builds vmlaunch's test/default guest from Debian 12 packages only: the current cloud kernel
# (linux-image-cloud-amd64 -> its versioned package) and an initramfs (newc cpio, gzip) with
# busybox-static, the virtio modules of that kernel in dependency order and scripts/guest/init.
#
# Output is cached outside the repo in ${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vmlaunch}/guest/<key>/
# (vmlinuz, initrd.img, manifest.json). <key> is a hash of this script, init, the module list
# and the resolved package versions, so a rerun is a cache hit until one of them changes.
#
# Usage: scripts/guest/build.sh [--json|--quiet] [--force]
#   Progress goes to stderr. The last stdout line is one JSON object:
#   {"key":..,"dir":..,"kernel":..,"initrd":..,"manifest":..,"cached":true|false}
#   Without --json, two more lines come first: VMLAUNCH_GUEST_KERNEL=... VMLAUNCH_GUEST_INITRD=...
# Environment: VMLAUNCH_CACHE (cache root), VMLAUNCH_GUEST_OFFLINE=1 (no apt-get update; use
#   the newest cached guest built by this same script if package lists cannot be resolved).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
json_only=0
force=0
for a in "$@"; do
  case "$a" in
    --json | --quiet) json_only=1 ;;
    --force) force=1 ;;
    -h | --help)
      sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build.sh: unknown argument '$a' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "vmlaunch guest: $*" >&2; }
die() {
  echo "vmlaunch guest: error: $*" >&2
  exit 1
}

# The kernel modules the guest needs, by name; their dependencies are added and ordered from
# each module's own modinfo "depends=" field (the .deb ships no modules.dep: depmod runs in
# its postinst). virtio/virtio_ring/virtio_pci* are modules in Debian's cloud kernel; PCIe
# hot-plug (CONFIG_HOTPLUG_PCI_PCIE=y, pciehp) and the 8250 serial console are built in.
# button+evdev let busybox acpid turn QMP system_powerdown into a clean poweroff.
# vfat (over fat) with the FAT default codepage 437 and iocharset ascii (CONFIG_FAT_DEFAULT_*
# of that kernel) mounts the NoCloud seed drive (docs/guest-network.md).
WANTED_MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
  virtio_mmio failover net_failover virtio_net virtio_blk fuse virtiofs button evdev
  fat vfat nls_cp437 nls_ascii)
KERNEL_META=linux-image-cloud-amd64
BUSYBOX_PKG=busybox-static
# Fixed timestamps in the cpio so the same inputs give the same initrd bytes.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

# Same rule as launcher/cache-dir.ts: $VMLAUNCH_CACHE, else $XDG_CACHE_HOME/vmlaunch, else ~/.cache/vmlaunch.
cache_root=${VMLAUNCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmlaunch}/guest
mkdir -p "$cache_root"

# --- host tools --------------------------------------------------------------------------
apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    [ "$(id -u)" = 0 ] || die "package lists are missing or stale and apt-get update needs root"
    log "apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    apt_updated=1
  fi
}
need_tools() {
  local missing=() t pkg
  for t in apt-get apt-cache dpkg-deb cpio gzip sha256sum flock find; do
    if ! command -v "$t" >/dev/null 2>&1; then
      case "$t" in
        apt-get | apt-cache) pkg=apt ;;
        dpkg-deb) pkg=dpkg ;;
        sha256sum) pkg=coreutils ;;
        flock) pkg=util-linux ;;
        find) pkg=findutils ;;
        *) pkg=$t ;;
      esac
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing tools (${missing[*]}); install them or run as root"
    log "installing ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  fi
}
need_tools

# --- resolve package versions --------------------------------------------------------------
# One apt-cache call gives what the cache key needs: the candidate versions of
# the kernel metapackage (whose Depends names the exact versioned image package) and busybox.
# Prints "Package Version SHA256 Size FirstDepends" per package.
pkg_info() {
  apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
    function out() { if (p != "") print p, v, h, s, (d == "" ? "-" : d); p = v = h = s = d = "" }
    /^Package: /{out(); p=$2} /^Version: /{v=$2} /^SHA256: /{h=$2} /^Size: /{s=$2}
    /^Depends: /{d=$2; sub(/,$/, "", d)} END{out()}'
}
meta_line=""
busybox_line=""
resolve_key_inputs() {
  local info
  info=$(pkg_info "$KERNEL_META" "$BUSYBOX_PKG" || true)
  meta_line=$(awk -v p="$KERNEL_META" '$1==p' <<<"$info" | head -n1)
  busybox_line=$(awk -v p="$BUSYBOX_PKG" '$1==p' <<<"$info" | head -n1)
}
if [ "${VMLAUNCH_GUEST_OFFLINE:-0}" != 1 ]; then
  resolve_key_inputs
  if [ -z "$meta_line" ] || [ -z "$busybox_line" ]; then
    apt_update_once
    resolve_key_inputs
  fi
  [ -n "$meta_line" ] || die "cannot resolve $KERNEL_META with apt-cache (is this Debian 12 with main enabled?)"
  [ -n "$busybox_line" ] || die "cannot resolve $BUSYBOX_PKG with apt-cache"
fi

script_hash=$(cat "${BASH_SOURCE[0]}" "$here/init" | sha256sum | cut -c1-64)

emit_result() { # dir cached
  local dir=$1 cached=$2 key
  key=$(basename "$dir")
  if [ "$json_only" = 0 ]; then
    echo "VMLAUNCH_GUEST_KERNEL=$dir/vmlinuz"
    echo "VMLAUNCH_GUEST_INITRD=$dir/initrd.img"
  fi
  printf '{"key":"%s","dir":"%s","kernel":"%s","initrd":"%s","manifest":"%s","cached":%s}\n' \
    "$key" "$dir" "$dir/vmlinuz" "$dir/initrd.img" "$dir/manifest.json" "$cached"
}
# A cached guest is complete when its manifest exists (written last) and outputs are non-empty.
guest_complete() {
  [ -s "$1/manifest.json" ] && [ -s "$1/vmlinuz" ] && [ -s "$1/initrd.img" ]
}

if [ -z "$meta_line" ]; then
  # Offline: newest complete guest made by this exact script.
  best=""
  for d in "$cache_root"/*/; do
    d=${d%/}
    guest_complete "$d" && grep -q "\"script_sha256\": \"$script_hash\"" "$d/manifest.json" || continue
    if [ -z "$best" ] || [ "$d/manifest.json" -nt "$best/manifest.json" ]; then best=$d; fi
  done
  [ -n "$best" ] || die "VMLAUNCH_GUEST_OFFLINE=1 but no cached guest from this script in $cache_root"
  log "offline: using cached guest $best"
  emit_result "$best" true
  exit 0
fi

read -r m_name m_ver _ _ kernel_pkg <<<"$meta_line"
read -r b_name b_ver b_sha b_size _ <<<"$busybox_line"
case "$kernel_pkg" in linux-image-[0-9]*) ;; *) die "$KERNEL_META $m_ver depends on '$kernel_pkg', not a versioned linux-image package" ;; esac
[ -n "${b_sha:-}" ] || die "apt-cache show $BUSYBOX_PKG gave no SHA256"

key=$(printf '%s\n' "$script_hash" "$m_name=$m_ver" "$kernel_pkg" "$b_name=$b_ver" "${WANTED_MODULES[*]}" |
  sha256sum | cut -c1-16)
out="$cache_root/$key"

if [ "$force" = 0 ] && guest_complete "$out"; then
  log "cache hit: $out"
  emit_result "$out" true
  exit 0
fi

# One builder at a time per cache; a second one waits, then finds the result.
exec 9>"$cache_root/.lock"
flock 9
if [ "$force" = 0 ] && guest_complete "$out"; then
  log "cache hit (built by a concurrent run): $out"
  emit_result "$out" true
  exit 0
fi

t0=$(date +%s.%N)
read -r k_name k_ver k_sha k_size _ <<<"$(pkg_info "$kernel_pkg" | head -n1)"
[ "${k_name:-}" = "$kernel_pkg" ] && [ -n "${k_sha:-}" ] || die "apt-cache show $kernel_pkg gave no version/SHA256"
work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building $key: $k_name $k_ver, $b_name $b_ver in $work"

# --- download and verify -----------------------------------------------------------------
mkdir -p "$work/debs"
# apt-get download verifies each .deb against the hash in the signed package index. As root,
# apt would drop to _apt, which cannot write under a 0700 $HOME: keep root (no warning).
sandbox=()
[ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
(cd "$work/debs" && apt-get download -q "${sandbox[@]}" "$k_name=$k_ver" "$b_name=$b_ver" >&2) ||
  die "apt-get download $k_name=$k_ver $b_name=$b_ver failed"
k_deb=$(ls "$work"/debs/"${k_name}"_*.deb)
b_deb=$(ls "$work"/debs/"${b_name}"_*.deb)
# Check again ourselves against the index's SHA256 and size (cheap, and recorded).
verify_deb() { # file expected_sha expected_size
  local got size
  got=$(sha256sum "$1" | cut -c1-64)
  size=$(stat -c %s "$1")
  [ "$got" = "$2" ] || die "$1: sha256 $got, index says $2"
  [ "$size" = "$3" ] || die "$1: size $size, index says $3"
}
verify_deb "$k_deb" "$k_sha" "$k_size"
verify_deb "$b_deb" "$b_sha" "$b_size"

dpkg-deb -x "$k_deb" "$work/kernel"
dpkg-deb -x "$b_deb" "$work/busybox"

kver=$(ls "$work/kernel/lib/modules")
[ "$(echo "$kver" | wc -l)" = 1 ] || die "expected one module tree in $k_name, found: $kver"
vmlinuz_src="$work/kernel/boot/vmlinuz-$kver"
[ -s "$vmlinuz_src" ] || die "$k_name has no /boot/vmlinuz-$kver"
# A bzImage carries the magic "HdrS" at offset 0x202 (Documentation/x86/boot.rst).
[ "$(dd if="$vmlinuz_src" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || die "vmlinuz-$kver is not a bzImage"
busybox_bin="$work/busybox/bin/busybox"
[ -x "$busybox_bin" ] || die "$b_name has no /bin/busybox"

# --- modules in dependency order ---------------------------------------------------------
modroot="$work/kernel/lib/modules/$kver"
declare -A mod_path=()
while IFS= read -r f; do
  n=$(basename "$f")
  n=${n%%.ko*}
  mod_path[$n]=$f
  mod_path[${n//-/_}]=$f
done < <(find "$modroot/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
mod_deps() { # prints the depends= list of a module file, one per line
  local f=$1
  case "$f" in
    *.ko.xz) xz -dc "$f" ;;
    *.ko.zst) zstd -dcq "$f" ;;
    *.ko.gz) gzip -dc "$f" ;;
    *) cat "$f" ;;
  esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1 | tr ',' '\n' | sed '/^$/d'
}
declare -A visited=()
order=()
visit() { # depth-first: dependencies first
  local m=${1//-/_} d
  [ -n "${visited[$m]:-}" ] && return 0
  visited[$m]=1
  if [ -z "${mod_path[$m]:-}" ]; then
    if grep -q "/${m}.ko" "$modroot/modules.builtin" 2>/dev/null; then
      log "module $m is built in"
      return 0
    fi
    die "module $m is neither in $k_name nor built in"
  fi
  for d in $(mod_deps "${mod_path[$m]}"); do visit "$d"; done
  order+=("$m")
}
for m in "${WANTED_MODULES[@]}"; do visit "$m"; done
log "module load order: ${order[*]}"

# --- initramfs tree ----------------------------------------------------------------------
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,root,etc/acpi/PWRF,lib/modules/"$kver"}
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp "$busybox_bin" "$root/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
: >"$root/lib/modules/$kver/load-order"
for m in "${order[@]}"; do
  src=${mod_path[$m]}
  dst="$root/lib/modules/$kver/$m.ko"
  case "$src" in # store modules uncompressed: busybox insmod then needs no decompressor
    *.ko.xz) xz -dc "$src" >"$dst" ;;
    *.ko.zst) zstd -dcq "$src" >"$dst" ;;
    *.ko.gz) gzip -dc "$src" >"$dst" ;;
    *) cp "$src" "$dst" ;;
  esac
  echo "$m" >>"$root/lib/modules/$kver/load-order"
done
install -m 0755 "$here/init" "$root/init"
# Unmount (or remount read-only: the root drive) before powering off, so drives end clean
# (an ext4 left with needs_recovery cannot be mounted from a read-only disk later).
printf '#!/bin/sh\nsync\numount -a -r 2>/dev/null\npoweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
chmod 0755 "$root/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
echo vmlaunch-guest >"$root/etc/hostname"
printf 'key=%s\nkernel=%s %s\nbusybox=%s\n' "$key" "$k_name" "$k_ver" "$b_ver" >"$root/etc/vmlaunch-guest"

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$root" && find . -mindepth 1 -print0 | sort -z |
  cpio --null --reproducible -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$work/initrd.img"
cp "$vmlinuz_src" "$work/vmlinuz"

# --- check outputs -----------------------------------------------------------------------
gzip -t "$work/initrd.img" || die "initrd.img is not valid gzip"
listing=$(gzip -dc "$work/initrd.img" | cpio -t --quiet)
for must in init bin/busybox "lib/modules/$kver/load-order" "lib/modules/$kver/virtio_net.ko"; do
  grep -qx "$must" <<<"$listing" || die "initrd.img lacks $must"
done
vmlinuz_size=$(stat -c %s "$work/vmlinuz")
initrd_size=$(stat -c %s "$work/initrd.img")
[ "$vmlinuz_size" -gt 1000000 ] || die "vmlinuz is only $vmlinuz_size bytes"
[ "$initrd_size" -gt 500000 ] || die "initrd.img is only $initrd_size bytes"

sha() { sha256sum "$1" | cut -c1-64; }
mods_json=$(printf '"%s",' "${order[@]}")
# What the guest kernel offers for workloads (y built in, m module, n not set), from its own
# config file: `vmlaunch doctor` reports it, so a user sees why there is no 9p or ip= here.
config_src="$work/kernel/boot/config-$kver"
[ -s "$config_src" ] || die "$k_name has no /boot/config-$kver"
config_json=""
for opt in VIRTIO_BLK VIRTIO_FS FUSE_FS EXT4_FS NET_9P IP_PNP VIRTIO_NET VSOCKETS VIRTIO_VSOCKETS; do
  val=$(sed -n "s/^CONFIG_$opt=\(.*\)/\1/p" "$config_src")
  config_json+="\"$opt\": \"${val:-n}\", "
done
cat >"$work/manifest.json" <<EOF
{
  "key": "$key",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "script_sha256": "$script_hash",
  "kernel_release": "$kver",
  "packages": [
    {"name": "$m_name", "version": "$m_ver", "role": "metapackage (resolved, not downloaded)"},
    {"name": "$k_name", "version": "$k_ver", "deb": "$(basename "$k_deb")", "sha256": "$(sha "$k_deb")", "size": $k_size},
    {"name": "$b_name", "version": "$b_ver", "deb": "$(basename "$b_deb")", "sha256": "$(sha "$b_deb")", "size": $b_size}
  ],
  "modules": [${mods_json%,}],
  "kernel_config": {${config_json%, }},
  "outputs": {
    "vmlinuz": {"sha256": "$(sha "$work/vmlinuz")", "size": $vmlinuz_size},
    "initrd.img": {"sha256": "$(sha "$work/initrd.img")", "size": $initrd_size}
  },
  "console": {"tty": "ttyS0", "ready_marker": "VMLAUNCH-GUEST-READY", "append": "console=ttyS0"}
}
EOF

stage="$work/out"
mkdir "$stage"
mv "$work/vmlinuz" "$work/initrd.img" "$stage/"
mv "$work/manifest.json" "$stage/" # last: its presence marks the guest complete
rm -rf "$out"
mv -T "$stage" "$out"
t1=$(date +%s.%N)
log "built $out in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s (vmlinuz $vmlinuz_size B, initrd.img $initrd_size B)"
emit_result "$out" false
