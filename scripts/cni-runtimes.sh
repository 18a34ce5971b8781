#!/usr/bin/env bash
# Real CNI runtimes driving the `berth` plugin (issue 14; recipe and captured protocol:
# docs/cni.md): podman 4.3 with network_backend "cni", and containerd 1.6's `ctr run --rm --cni`.
# Run by Tests/BerthCNITests/RuntimeTests inside the test sandbox (a private net+mount namespace);
# this script re-executes itself in a further private mount + pid namespace, with tmpfs over every
# place the runtimes write state (/run, /var/lib/cni, /var/lib/containers, /dev/shm,
# /etc/cni/net.d), so nothing reaches the machine and every process it started dies with it.
#   usage: scripts/cni-runtimes.sh BERTH_BINARY WORKDIR [podman|ctr|all]
# Exit 0: every check passed. Exit 77: a runtime is missing (skip). Otherwise: the failed check.
set -euo pipefail
[ "${CNI_RT_TRACE:-0}" = 1 ] && set -x
berth=$1 work=$2 which=${3:-all}
if [ "${CNI_RT_INNER:-0}" != 1 ]; then
  # A caller's thread may block signals (a test runner's worker threads do) and the mask is
  # inherited down to the containers: busybox ping, which paces itself with SIGALRM, then never
  # ends. Start from an empty mask.
  if [ "${CNI_RT_UNBLOCKED:-0}" != 1 ]; then
    exec env CNI_RT_UNBLOCKED=1 python3 -c 'import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])' "$0" "$@"
  fi
  for t in podman ctr containerd runc /usr/lib/cni/portmap /bin/busybox; do
    command -v "$t" >/dev/null 2>&1 || { echo "cni-runtimes: $t is not installed (scripts/install-cni-deps.sh)"; exit 77; }
  done
  mine=$(stat -L -c %i /proc/self/ns/net)
  if [ -z "${BERTH_HOST_NETNS:-}" ] || [ "$mine" = "$BERTH_HOST_NETNS" ]; then
    echo "cni-runtimes: refusing to run in the machine's own network namespace" >&2; exit 2
  fi
  mkdir -p "$work"
  exec env CNI_RT_INNER=1 unshare --mount --pid --fork --kill-child --mount-proc --propagation private -- "$0" "$@"
fi

R=$work
fail() { echo "FAIL: $*"; exit 1; }
# `producer | grep -q` under pipefail races: grep leaves at the first match, the producer's next
# write dies of SIGPIPE and the pipeline fails although the line was there. `has` reads all first.
has() { local text; text=$(cat); grep -q "$@" <<<"$text"; }
step() { echo "--- $*"; }
mount -t tmpfs tmpfs /run; mkdir -p /run/netns /run/lock /run/berth
# libcni's result cache (/var/lib/cni) and podman's blob cache (/var/lib/containers) are written
# whatever the configuration says: a tmpfs over /var/lib keeps them in this namespace.
mount -t tmpfs tmpfs /var/lib; mkdir -p /var/lib/cni /var/lib/containers
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /etc/cni/net.d
ip link set lo up
# The plugin directory: the reference plugins (their real directory bound elsewhere) and berth.
mkdir -p $R/realcni $R/cnibin $R/netconf $R/img/rootfs/bin $R/img/rootfs/etc
mount --bind /usr/lib/cni $R/realcni
for p in $R/realcni/*; do ln -sf "$p" $R/cnibin/; done
# cnibin/berth may be a link to an installed berth (install.sh links /usr/lib/cni/berth): replace
# the link, never write through it.
rm -f $R/cnibin/berth $R/cnibin/berth-proxy
cp "$berth" $R/cnibin/berth
# Its userland proxy beside it, as scripts/install.sh puts both in one directory.
cp "$(dirname "$berth")/berth-proxy" $R/cnibin/berth-proxy
mount --bind $R/cnibin /usr/lib/cni
state=$R/berth-state

cat > $R/containers.conf <<EOC
[containers]
default_sysctls = []
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = "$R/netconf"
default_network = "podman"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$R/libpod-tmp"
EOC
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/runroot"\n' $R $R > $R/storage.conf
export CONTAINERS_CONF=$R/containers.conf CONTAINERS_STORAGE_CONF=$R/storage.conf
cp /bin/busybox $R/img/rootfs/bin/
for a in $(/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $R/img/rootfs/bin/$a; done
echo 'root:x:0:0:root:/:/bin/sh' > $R/img/rootfs/etc/passwd
tar -C $R/img/rootfs -cf $R/img/bb.tar .

conflist() { # NAME VERSION SUBNET [extra plugin JSON]
  local extra=${4:-}
  cat > $R/netconf/$1.conflist <<EOC
{ "cniVersion": "$2", "name": "$1", "plugins": [
  { "type": "berth", "subnet": "$3", "stateDir": "$state",
    "capabilities": { "portMappings": $([ -z "$extra" ] && echo true || echo false), "ips": true, "mac": true } }$extra ] }
EOC
}
endpoints() { { ls $state/endpoints 2>/dev/null || true; } | wc -l; }
veths() { ip -j link show type veth | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
addr_of() { podman inspect "$1" --format "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}"; }
# busybox ping waits for replies forever without -w: a deadline of 4 s, success on any reply.
pings() { podman exec "$1" ping -c 3 -w 4 "$2" >/dev/null 2>&1; }
reach() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" || true; }

run_podman() {
  conflist bnet1 1.0.0 10.88.1.0/24
  conflist bnet2 0.4.0 10.88.2.0/24
  conflist bnet3 1.0.0 10.88.3.0/24 ', { "type": "portmap", "capabilities": { "portMappings": true } }'
  podman import -q $R/img/bb.tar localhost/bb:latest >/dev/null
  podman network ls --format '{{.Name}} {{.Driver}}' | has '^bnet1 berth$' || fail "podman does not list bnet1 with driver berth"

  step "podman: two containers on bnet1 ping each other, not one of bnet2"
  podman run -d --name a1 --network bnet1 localhost/bb:latest sleep 600 >/dev/null
  podman run -d --name a2 --network bnet1 localhost/bb:latest sleep 600 >/dev/null
  podman run -d --name b1 --network bnet2 localhost/bb:latest sleep 600 >/dev/null
  a1=$(addr_of a1 bnet1); b1=$(addr_of b1 bnet2)
  [ -n "$a1" ] && [ -n "$b1" ] || fail "no addresses ($a1, $b1)"
  pings a2 "$a1" || fail "a2 cannot ping a1 ($a1)"
  if pings a1 "$b1"; then fail "a1 reaches b1 of another Berth network"; fi

  step "podman: -p 8080:80 reaches a listener in the container"
  podman run -d --name w1 --network bnet1 -p 8080:80 localhost/bb:latest httpd -f -p 80 >/dev/null
  sleep 0.5
  code=$(reach http://10.88.1.1:8080/); [ "$code" = 404 ] || fail "http://10.88.1.1:8080/ gave '$code' (busybox httpd answers 404)"
  iptables-save -t nat | has -- '--dport 8080 -j DNAT' || fail "no DNAT for 8080"
  code=$(reach http://127.0.0.1:8080/)
  [ "$code" = 404 ] || fail "http://127.0.0.1:8080/ gave '$code' (the userland proxy serves the host's loopback)"

  step "podman: --ip and --mac-address honoured"
  podman run -d --name s1 --network bnet1 --ip 10.88.1.50 --mac-address 02:00:00:00:00:50 localhost/bb:latest sleep 600 >/dev/null
  podman exec s1 ip -o -4 addr show eth0 | has 'inet 10.88.1.50/24' || fail "s1 lacks 10.88.1.50/24"
  podman exec s1 cat /sys/class/net/eth0/address | has -x 02:00:00:00:00:50 || fail "s1 lacks MAC 02:00:00:00:00:50"

  step "podman: network reload restores connectivity"
  bridge1=$(ip -o -4 addr show | awk '/ 10\.88\.1\.1\//{print $2}')
  [ -n "$bridge1" ] || fail "no bridge holds 10.88.1.1"
  # Break a1's attachment (its host end gone), then reload.
  for v in $(ip -o link show master "$bridge1" | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$v"
  done
  if pings a2 "$a1"; then fail "a1 still reachable with its veth gone"; fi
  podman network reload a1 a2 w1 s1 >/dev/null
  a1=$(addr_of a1 bnet1)
  pings a2 "$a1" || fail "a1 ($a1) unreachable after podman network reload"

  step "podman: berth followed by the reference portmap"
  podman run -d --name p1 --network bnet3 -p 8081:80 localhost/bb:latest httpd -f -p 80 >/dev/null
  sleep 0.5
  code=$(reach http://10.88.3.1:8081/); [ "$code" = 404 ] || fail "portmap: http://10.88.3.1:8081/ gave '$code'"
  iptables-save -t nat | has 'CNI-HOSTPORT-DNAT' || fail "portmap's CNI-HOSTPORT-DNAT chain missing"
  podman run -d --name p2 --network bnet3 localhost/bb:latest sleep 600 >/dev/null
  pings p2 "$(addr_of p1 bnet3)" || fail "p2 cannot ping p1 on bnet3"

  step "podman: rm -f leaves no link, rule, lease or netns"
  podman rm -f -t 0 a1 a2 b1 w1 s1 p1 p2 >/dev/null
  [ "$(endpoints)" = 0 ] || fail "endpoints left: $(ls $state/endpoints)"
  [ "$(veths)" = 0 ] || fail "veths left: $(ip -o link show type veth)"
  [ -z "$(ls /run/netns)" ] || fail "netns left: $(ls /run/netns)"
  if iptables-save | grep -E -- '--dport (8080|8081)|10\.88\.[0-9]+\.[0-9]+:80' | has .; then fail "port rules left: $(iptables-save | grep -E -- '--dport 808')"; fi
  if iptables-save | has 'CNI-DN-'; then fail "portmap rules left"; fi
  echo "podman: all checks passed"
}

run_ctr() {
  step "ctr run --rm --cni: ADD then DEL with an empty CNI_NETNS leaves nothing"
  cat > /etc/cni/net.d/10-ctrnet.conflist <<EOC
{ "cniVersion": "1.0.0", "name": "ctrnet", "plugins": [ { "type": "berth", "subnet": "10.88.9.0/24", "stateDir": "$state" } ] }
EOC
  mkdir -p $R/ctrd
  cat > $R/ctrd/config.toml <<EOC
version = 2
root = "$R/ctrd/root"
state = "$R/ctrd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$R/ctrd/sock"
[ttrpc]
  address = "$R/ctrd/sock.ttrpc"
EOC
  containerd --config $R/ctrd/config.toml >$R/ctrd/log 2>&1 &
  ctrd=$!
  for _ in $(seq 50); do [ -S $R/ctrd/sock ] && break; sleep 0.1; done
  ctr() { command ctr -a $R/ctrd/sock "$@"; }
  if ! podman image exists localhost/bb:latest; then podman import -q $R/img/bb.tar localhost/bb:latest >/dev/null; fi
  podman save -q --format oci-archive -o $R/bb-oci.tar localhost/bb:latest
  ctr images import -q --base-name localhost/bb $R/bb-oci.tar >/dev/null 2>&1 || ctr images import --base-name localhost/bb $R/bb-oci.tar >/dev/null
  before=$(endpoints)
  out=$(ctr run --rm --cni localhost/bb:latest k1 ip -o -4 addr show eth0)
  has 'inet 10.88.9.' <<<"$out" || fail "ctr container had no 10.88.9.x address: $out"
  [ "$(endpoints)" = "$before" ] || fail "ctr: endpoint left after --rm"
  [ "$(veths)" = 0 ] || fail "ctr: veth left: $(ip -o link show type veth)"
  kill $ctrd; wait $ctrd 2>/dev/null || true
  echo "ctr: all checks passed"
}

case $which in
  podman) run_podman ;;
  ctr) run_ctr ;;
  all) run_podman; run_ctr ;;
esac
podman rm -af -t 0 >/dev/null 2>&1 || true
