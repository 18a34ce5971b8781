#!/usr/bin/env bash
# Captures Docker 20.10's IPv6 golden dump (Tests/Fixtures/docker-20.10/ipv6/, issue 15): a real
# dockerd (Debian's docker.io, scripts/oracle-dockerd.sh) started with
#   --experimental --ip6tables --ipv6 --fixed-cidr-v6 2001:db8:1::/64
# (BERTH_CAPTURE_DOCKERD_ARGS replaces them) in a private netns of the test sandbox. After each
# step, in dockerd's netns: iptables-save and ip6tables-save (counters zeroed), the FORWARD policy
# of both families, `ip -j addr`, `ip -4/-6 route`, the IPv6 sysctls of every link and
# net.ipv4.ip_forward, the docker-proxy processes; with containers running, the same view from
# inside each container's netns and its `docker inspect` NetworkSettings.
#   BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net) \
#     unshare --net --mount --pid --fork -- scripts/in-sandbox.sh scripts/capture-docker-ipv6.sh OUTDIR
set -euo pipefail
out=${1:?usage: capture-docker-ipv6.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
[ "${BERTH_SANDBOX:-}" = 1 ] || { echo "capture: run inside scripts/in-sandbox.sh" >&2; exit 2; }
args=${BERTH_CAPTURE_DOCKERD_ARGS:---experimental --ip6tables --ipv6 --fixed-cidr-v6 2001:db8:1::/64}
mkdir -p "$out"; out=$(cd "$out" && pwd)
# `unshare --pid --fork` leaves the machine's /proc in place: this sandbox's own (private mount
# namespace) makes pids, pgrep and oracle-dockerd.sh's process lookups refer to this pid namespace.
[ "$(readlink /proc/self)" = "$BASHPID" ] || mount -t proc proc /proc
ns=cap-docker6
dir=$(mktemp -d /tmp/berth-capture6.XXXXXX)
ip netns add $ns; ip netns exec $ns ip link set lo up
trap '"$here/oracle-dockerd.sh" stop "$dir" || true; ip netns del $ns || true; rm -rf "$dir"' EXIT
d() { docker -H "unix://$dir/docker.sock" "$@"; }
# The API's own JSON (API 1.41, as dockerd 20.10 sends it; the newer docker client re-encodes
# `inspect -f` output with fields 20.10 does not have).
api() { curl -sf --unix-socket "$dir/docker.sock" "http://docker/v1.41/$1"; }
# Host veths get random names (veth + 7 hex): one placeholder.
norm() { sed -E -e 's/veth[0-9a-f]{7}/veth<container>/g' -e "s#$dir#<capture-dir>#g"; }
zero() { sed -e 's/^\(:[A-Za-z0-9_-]* [A-Z-]*\) \[[0-9]*:[0-9]*\]/\1 [0:0]/'; }
# The IPv6 sysctls of every link of the current netns, and IPv4 forwarding.
sysctls='for f in /proc/sys/net/ipv6/conf/*; do l=${f#/proc/sys/net/ipv6/conf/}
  for k in forwarding accept_ra disable_ipv6; do echo "net.ipv6.conf.$l.$k = $(cat $f/$k)"; done; done
  echo "net.ipv4.ip_forward = $(cat /proc/sys/net/ipv4/ip_forward)"'
# Waits (up to 5 s) until the kernel has settled, so a dump does not depend on timing: no link with
# carrier holds a tentative address (IPv6 DAD finished; links without carrier keep theirs tentative
# until a port comes up), and every bridge without ports is operstate DOWN (linkwatch lags behind
# the removal of its last port).
settle() {
  for _ in $(seq 50); do
    "$@" ip -d -j addr | jq -e '[.[] | select(.master) | .master] as $m
      | ([.[] | select(.flags | index("LOWER_UP")) | .addr_info[] | select(.tentative)] | length == 0)
      and ([.[] | select(.linkinfo.info_kind == "bridge" and .operstate != "DOWN")
                | select(.ifname as $n | $m | index([$n]) | not)] | length == 0)' > /dev/null && return 0
    sleep 0.1
  done
  echo "capture: the kernel did not settle in 5 s (tentative addresses or carrier)" >&2
}
dump() {
  settle ip netns exec $ns
  ip netns exec $ns iptables-save | zero > "$out/$1.iptables-save.txt"
  ip netns exec $ns ip6tables-save | zero > "$out/$1.ip6tables-save.txt"
  { echo "iptables $(ip netns exec $ns iptables -S FORWARD | grep '^-P')"
    echo "ip6tables $(ip netns exec $ns ip6tables -S FORWARD | grep '^-P')"; } > "$out/$1.forward-policy.txt"
  ip netns exec $ns ip -j -p addr | norm > "$out/$1.addr.json"
  ip netns exec $ns ip -6 route | norm > "$out/$1.route6.txt"
  ip netns exec $ns ip -4 route | norm > "$out/$1.route4.txt"
  ip netns exec $ns sh -c "$sysctls" | norm | sort > "$out/$1.sysctl.txt"
  { pgrep -a docker-proxy || true; } | sed -E 's/^[0-9]+ //' | sort > "$out/$1.docker-proxy.txt"
}
# One container's view: its NetworkSettings and, inside its netns (entered through dockerd's
# mount and pid namespaces, where State.Pid is valid), addresses, routes, sysctls.
ctr() {
  local step=$1 c=$2 pid
  api "containers/$c/json" | jq .NetworkSettings | norm > "$out/$step.ctr-$c.inspect.json"
  pid=$(api "containers/$c/json" | jq .State.Pid)
  cx() { nsenter -t "$dpid" -m -p -- nsenter -t "$pid" -n -- "$@"; }
  settle cx
  cx ip -j -p addr > "$out/$step.ctr-$c.addr.json"
  cx ip -6 route > "$out/$step.ctr-$c.route6.txt"
  cx ip -4 route > "$out/$step.ctr-$c.route4.txt"
  cx sh -c "$sysctls" | sort > "$out/$step.ctr-$c.sysctl.txt"
}
# Runs a docker command that may be refused: its output and exit status, as Docker gave them.
try() { local f=$1; shift; { echo "\$ docker $*"; rc=0; d "$@" 2>&1 || rc=$?; echo "exit status $rc"; } > "$out/$f"; }
# The fresh namespace before dockerd: what Docker changes is the difference to this.
ip netns exec $ns iptables-save > "$out/0-before.iptables-save.txt"
ip netns exec $ns ip6tables-save > "$out/0-before.ip6tables-save.txt"
ip netns exec $ns ip -j -p addr > "$out/0-before.addr.json"
ip netns exec $ns sh -c "$sysctls" | sort > "$out/0-before.sysctl.txt"
BERTH_ORACLE_DOCKERD_ARGS=$args "$here/oracle-dockerd.sh" start "$dir" $ns $$ > "$dir/pid"
dpid=$(cat "$dir/pid")
echo "dockerd $args" > "$out/dockerd-args.txt"
dump a-start
root=$dir/rootfs; mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"; ln -s busybox "$root/bin/sh"; ln -s busybox "$root/bin/sleep"
tar -C "$root" -cf "$dir/image.tar" .; d import "$dir/image.tar" cap:busybox > /dev/null
try b-netcreate.v6net.txt network create --ipv6 --subnet fd00:1::/64 v6net
try b-netcreate.v6nosubnet.txt network create --ipv6 v6nosubnet
try b-netcreate.v6b.txt network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:2::/64 --gateway fd00:2::fe --ip-range fd00:2::/80 v6b
nets=""
for n in v6net v6nosubnet v6b; do
  if api "networks/$n" > /dev/null 2>&1; then
    api "networks/$n" | jq . | norm > "$out/b-netcreate.$n.network-inspect.json"; nets="$nets $n"
  fi
done
dump b-netcreate
run() { d run -d --name "$@" cap:busybox sleep 1000000 > /dev/null; }
run c6 --network v6net -p 8080:80
run c6s --network v6net --ip6 fd00:1::99
run c4 --network bridge -p 8081:80
run c6any --network v6net -p '[::]:8082:80'
run c6local --network v6net -p 127.0.0.1:8083:80
ctrs="c6 c6s c4 c6any c6local"
if case " $nets " in *" v6b "*) true;; *) false;; esac; then run c6b --network v6b; ctrs="$ctrs c6b"; fi
dump c-containers
for c in $ctrs; do ctr c-containers $c; done
d rm -f $ctrs > /dev/null
dump d-rm
for n in $nets; do d network rm $n > /dev/null; done
dump e-netrm
# An IPv4-only container on an IPv4-only user network (its -p 8084:80 also gets the binding on ::).
d network create v4net > /dev/null
run c4only --network v4net -p 8084:80
dump f-v4only
ctr f-v4only c4only
d rm -f c4only > /dev/null; d network rm v4net > /dev/null
dump g-v4rm
# What dockerd logged as warning or error (timestamps and containerd-shim cleanup noise dropped).
grep -E 'level=(warning|error)' "$dir/dockerd.log" | grep -vE 'shim disconnected|cleanup warnings' | sed -E 's/^time="[^"]*" //' | norm > "$out/dockerd-warnings.txt" || true
d version > "$out/docker-version.txt"
dpkg-query -W docker.io iptables containerd runc 2>/dev/null >> "$out/docker-version.txt" || true
uname -r >> "$out/docker-version.txt"
echo "captured in $out"
