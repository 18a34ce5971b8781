#!/usr/bin/env bash
# Prepares a sandbox created by `unshare --net --mount` and runs a command in it: a private
# /run/netns and /run/berth (so named namespaces made by tests never appear on the machine), loopback up,
# BERTH_SANDBOX=1 for the tests' guard. Refuses to run in the machine's own network namespace.
set -euo pipefail
# BERTH_HOST_NETNS: the inode of the machine's namespace, recorded by the caller before unshare.
mine=$(stat -L -c %i /proc/self/ns/net)
init=$(stat -L -c %i /proc/1/ns/net 2>/dev/null || true)
if [ -z "${BERTH_HOST_NETNS:-}" ] || [ "$mine" = "$BERTH_HOST_NETNS" ] || [ "$mine" = "$init" ]; then
  echo "in-sandbox: refusing to run in the machine's own network namespace" >&2
  exit 2
fi
mount --make-rprivate /
mkdir -p /run/netns
mount -t tmpfs -o mode=0755 berth-sandbox /run/netns
# Berth's registry of claimed host namespaces (one state directory per host namespace) stays
# inside the sandbox too.
# The mount point is the one trace on the machine: every sandbox tries to remove it at the end
# (unmounted first). rmdir leaves it while another sandbox still has its tmpfs there (EBUSY) or
# when it is a real, non-empty /run/berth, so the last sandbox out removes it, whichever made it
# (sandboxes run concurrently: the one that made it may end first).
[ -e /run/berth ] || mkdir -p /run/berth
mount -t tmpfs -o mode=0755 berth-sandbox-claims /run/berth
ip link set lo up
export BERTH_SANDBOX=1
status=0
"$@" || status=$?
umount /run/berth 2>/dev/null && rmdir /run/berth 2>/dev/null || true
exit "$status"
