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
# The mount point is the one trace on the machine: when this sandbox had to make it, it is
# removed again at the end (unmounted first; left alone while another sandbox still uses it).
made_run_berth=0
[ -e /run/berth ] || { mkdir -p /run/berth; made_run_berth=1; }
mount -t tmpfs -o mode=0755 berth-sandbox-claims /run/berth
ip link set lo up
export BERTH_SANDBOX=1
if [ "$made_run_berth" = 0 ]; then exec "$@"; fi
status=0
"$@" || status=$?
umount /run/berth 2>/dev/null && rmdir /run/berth 2>/dev/null || true
exit "$status"
