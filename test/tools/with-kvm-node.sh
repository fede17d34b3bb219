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
  mount -t tmpfs -o mode=0755 tmpfs "$dev"
  # Device nodes and links of the top level; the mounts below /dev come back as binds.
  cp -a --no-preserve=ownership /dev/. "$dev"/ 2>/dev/null || true
  for m in $(awk "\$2 ~ \"^/dev/\" {print \$2}" /proc/self/mounts); do
    mkdir -p "$dev${m#/dev}" && mount --rbind "$m" "$dev${m#/dev}"
  done
  mknod -m 0660 "$dev/kvm" c 10 232
  mount --rbind "$dev" /dev
  echo "with-kvm-node: /dev/kvm is $(stat -c "%F %t:%T" /dev/kvm) in this namespace" >&2
  exec "$@"
' with-kvm-node "$dev" "$@"
