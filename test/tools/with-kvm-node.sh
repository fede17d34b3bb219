#!/usr/bin/env bash
# Runs a command where /dev/kvm exists but has no driver behind it (the "present but unusable"
# case), on a host that has none: a private mount namespace whose /dev is a copy of the host's
# plus a kvm node (char 10:232, mode 0660). Nothing outside the namespace changes.
# Usage (root): test/tools/with-kvm-node.sh npm test
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "with-kvm-node: needs root" >&2; exit 1; }
if [ -e /dev/kvm ]; then
  echo "with-kvm-node: this host has /dev/kvm already; to test without it, run:" >&2
  echo "  unshare -m sh -c 'mount --make-rprivate / && mount --bind /dev/null /dev/kvm && exec \"\$@\"' - CMD" >&2
  exit 1
fi
dev=$(mktemp -d /run/vml-kvmnode.XXXXXX)
trap 'rmdir "$dev"' EXIT
unshare --mount --propagation private bash -c '
  set -euo pipefail
  dev=$1
  shift
  # An overlay over the host /dev: nodes the kernel makes later (e.g. /dev/tapN of a new
  # macvtap) still show through from devtmpfs; the kvm node lives only in the upper layer.
  mount -t tmpfs -o mode=0755 tmpfs "$dev"
  mkdir "$dev/upper" "$dev/work" "$dev/merged"
  subs=$(awk "\$2 ~ \"^/dev/\" {print \$2}" /proc/self/mounts)
  mount -t overlay overlay -o "lowerdir=/dev,upperdir=$dev/upper,workdir=$dev/work" "$dev/merged"
  for m in $subs; do mount --rbind "$m" "$dev/merged${m#/dev}"; done
  mknod -m 0660 "$dev/merged/kvm" c 10 232
  mount --move "$dev/merged" /dev
  echo "with-kvm-node: /dev/kvm is $(stat -c "%F %t:%T" /dev/kvm) in this namespace" >&2
  exec "$@"
' with-kvm-node "$dev" "$@"
