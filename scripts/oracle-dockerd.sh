#!/usr/bin/env bash
# Starts or stops the Docker 20.10 oracle (docs/oracle.md): a dockerd from Debian's docker.io that
# lives in a network namespace of the test sandbox plus mount and pid namespaces of its own.
#
#   oracle-dockerd.sh start DIR NETNS OWNER  dockerd in /run/netns/NETNS; data-root, exec-root,
#                                       pidfile, socket (DIR/docker.sock) and log under DIR; prints
#                                       the pid of dockerd as this namespace sees it (also in
#                                       DIR/dockerd.hostpid). A watchdog stops it once process OWNER
#                                       (the test process) is gone, whatever killed it.
#   oracle-dockerd.sh stop DIR          removes its containers, stops it, removes its cgroups
#
# BERTH_ORACLE_DOCKERD_ARGS: extra dockerd arguments, split on spaces (e.g. --userland-proxy=false).
#
# Safety: refuses to run in the machine's own network namespace (BERTH_HOST_NETNS, recorded by
# scripts/test.sh before unshare), or when NETNS is that namespace. dockerd gets a private /run
# (tmpfs) and /proc, its own cgroup parent (berth-oracle-<pid>), and dies with its launcher
# (unshare --kill-child), so nothing outlives the test process. The recipe (fresh sysfs for the
# namespace with the cgroup mounts re-bound under it) is the team's reference peers script
# (netns-mnt-exec.sh), copied here.
set -euo pipefail
DOCKERD=${BERTH_ORACLE_DOCKERD:-/usr/sbin/dockerd}
DOCKER=${BERTH_ORACLE_DOCKER:-/usr/bin/docker}
refuse() { echo "oracle-dockerd: $*" >&2; exit 2; }
mine=$(stat -L -c %i /proc/self/ns/net)
[ -n "${BERTH_HOST_NETNS:-}" ] && [ "$mine" != "$BERTH_HOST_NETNS" ] || refuse "not inside the test sandbox"
cmd=${1:-}; dir=${2:-}
[ -n "$dir" ] || refuse "usage: start DIR NETNS | stop DIR"
case "$cmd" in
start)
  ns=${3:-}; owner=${4:-}; [ -e "/run/netns/$ns" ] || refuse "no netns $ns"
  [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null || refuse "no owner process '$owner'"
  target=$(stat -L -c %i "/run/netns/$ns")
  [ "$target" != "$BERTH_HOST_NETNS" ] && [ "$target" != "$mine" ] || refuse "netns $ns is not a private one"
  [ -x "$DOCKERD" ] && [ -x "$DOCKER" ] || refuse "no $DOCKERD / $DOCKER (scripts/install-deps.sh installs docker.io)"
  mkdir -p "$dir"
  echo '{}' > "$dir/daemon.json"
  setsid nsenter --net="/run/netns/$ns" unshare --mount --pid --fork --kill-child --propagation private \
    sh -c '
      set -e
      dir=$1; shift
      stash=$(mktemp -d "$dir/cgstash.XXXXXX")
      mount --rbind /sys/fs/cgroup "$stash"
      mount -t sysfs sysfs /sys
      mount --rbind "$stash" /sys/fs/cgroup
      umount -l "$stash"; rmdir "$stash"
      mount -t proc proc /proc
      mount -t tmpfs -o mode=0755 oracle-run /run
      exec "$@"' sh "$dir" \
    "$DOCKERD" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "unix://$dir/docker.sock" --config-file "$dir/daemon.json" \
      --cgroup-parent "berth-oracle-$$" --exec-opt native.cgroupdriver=cgroupfs ${BERTH_ORACLE_DOCKERD_ARGS:-} \
    > "$dir/dockerd.log" 2>&1 < /dev/null &
  launcher=$!
  echo "$launcher" > "$dir/launcher.pid"
  echo "berth-oracle-$$" > "$dir/cgroup-parent"
  # The watchdog: stops dockerd when the owner is gone (a killed test run leaves nothing running).
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; exec "$3" stop "$4"' \
    watchdog "$owner" "$launcher" "$0" "$dir" > /dev/null 2>&1 < /dev/null &
  for _ in $(seq 300); do
    if "$DOCKER" -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
      # unshare --fork: the launcher's child is dockerd (pid 1 of its pid namespace).
      pid=$(cat "/proc/$launcher/task/$launcher/children" | tr -s ' ' '\n' | sed -n 1p)
      echo "$pid" > "$dir/dockerd.hostpid"
      echo "$pid"
      exit 0
    fi
    kill -0 "$launcher" 2>/dev/null || { tail -20 "$dir/dockerd.log" >&2; refuse "dockerd exited"; }
    sleep 0.1
  done
  tail -20 "$dir/dockerd.log" >&2; refuse "dockerd not ready after 30 s"
  ;;
stop)
  [ -s "$dir/launcher.pid" ] || exit 0
  launcher=$(cat "$dir/launcher.pid")
  if [ -S "$dir/docker.sock" ]; then
    ids=$("$DOCKER" -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || "$DOCKER" -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ -s "$dir/dockerd.hostpid" ]; then kill -TERM "$(cat "$dir/dockerd.hostpid")" 2>/dev/null || true; fi
  for _ in $(seq 100); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$launcher" 2>/dev/null || true
  rm -f "$dir/launcher.pid"
  # Its cgroups (cgroupfs driver, one directory per controller), once their tasks are gone.
  if [ -s "$dir/cgroup-parent" ]; then
    cg=$(cat "$dir/cgroup-parent")
    case "$cg" in berth-oracle-[0-9]*)
      for _ in $(seq 50); do
        left=0
        for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
          [ -d "$d" ] || continue
          find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
          [ -d "$d" ] && left=1
        done
        [ "$left" = 0 ] && break; sleep 0.2
      done ;;
    esac
    rm -f "$dir/cgroup-parent"
  fi
  ;;
*) refuse "usage: start DIR NETNS | stop DIR" ;;
esac
