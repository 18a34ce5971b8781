#!/usr/bin/env bash
# Captures Docker 20.10's `--userland-proxy=false` golden dump (Tests/Fixtures/docker-20.10/noproxy/):
# a real dockerd (Debian's docker.io, scripts/oracle-dockerd.sh) started with --userland-proxy=false
# in a private netns of the test sandbox; after each step iptables-save, route_localnet of every
# link, the bridge ports' hairpin flags and the docker-proxy processes.
#   BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net) \
#     unshare --net --mount --pid --fork -- scripts/in-sandbox.sh scripts/capture-docker-noproxy.sh OUTDIR
set -euo pipefail
out=${1:?usage: capture-docker-noproxy.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
[ "${BERTH_SANDBOX:-}" = 1 ] || { echo "capture: run inside scripts/in-sandbox.sh" >&2; exit 2; }
mkdir -p "$out"; out=$(cd "$out" && pwd)
ns=cap-docker
dir=$(mktemp -d /tmp/berth-capture.XXXXXX)
ip netns add $ns; ip netns exec $ns ip link set lo up
trap '"$here/oracle-dockerd.sh" stop "$dir" || true; ip netns del $ns || true' EXIT
BERTH_ORACLE_DOCKERD_ARGS=--userland-proxy=false "$here/oracle-dockerd.sh" start "$dir" $ns $$ > "$dir/pid"
d() { docker -H "unix://$dir/docker.sock" "$@"; }
dump() {
  ip netns exec $ns iptables-save | sed -e 's/^\(:[A-Z-]* [A-Z-]*\) \[[0-9]*:[0-9]*\]/\1 [0:0]/' > "$out/$1.iptables-save.txt"
  ip netns exec $ns sh -c 'for f in /proc/sys/net/ipv4/conf/*/route_localnet; do l=${f#/proc/sys/net/ipv4/conf/}; echo "net.ipv4.conf.${l%/route_localnet}.route_localnet = $(cat $f)"; done' \
    | sed -E 's/veth[0-9a-f]{7}/veth<container>/' | sort > "$out/$1.sysctl.txt"
  ip netns exec $ns sh -c 'for f in /sys/class/net/*/brport/hairpin_mode; do l=${f#/sys/class/net/}; l=${l%%/*}; m=$(basename "$(readlink /sys/class/net/$l/brport/bridge)"); echo "$l master $m hairpin $(cat $f)"; done' \
    | sed -E 's/veth[0-9a-f]{7}/veth<container>/' | sort > "$out/$1.bridge-ports.txt"
  { pgrep -a docker-proxy || true; } | sed -E 's/^[0-9]+ //' > "$out/$1.docker-proxy.txt"
}
dump a-start
root=$dir/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"; ln -s busybox "$root/bin/sh"; ln -s busybox "$root/bin/sleep"
tar -C "$root" -cf "$dir/image.tar" .; d import "$dir/image.tar" cap:busybox > /dev/null
d network create test1 > "$out/b-netcreate.network-id.txt"
dump b-netcreate
d run -d --name cpub --network bridge -p 8080:80 cap:busybox sleep 1000000 > /dev/null
d run -d --name clocal --network test1 -p 127.0.0.1:8081:80 cap:busybox sleep 1000000 > /dev/null
d run -d --name ct1 --network test1 cap:busybox sleep 1000000 > /dev/null
d inspect -f '{{.Name}} {{.NetworkSettings.Networks}}' cpub clocal ct1 > "$out/c-containers.containers.txt"
dump c-containers
d rm -f cpub clocal ct1 > /dev/null
dump d-rm
d network rm test1 > /dev/null
dump e-netrm
d version --format 'client {{.Client.Version}} server {{.Server.Version}} api {{.Server.APIVersion}}' > "$out/docker-version.txt"
dpkg-query -W docker.io iptables >> "$out/docker-version.txt"
echo "captured in $out"
