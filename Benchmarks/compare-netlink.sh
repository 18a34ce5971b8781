#!/usr/bin/env bash
# Side-by-side cost of one attach (create half) and one detach (delete half), in ONE run:
#   C floor  floor/attach_floor.c: the same rtnetlink requests straight through libmnl
#   ip       iproute2: `ip -batch -` in the host netns (veth with peer in the sandbox, master, up)
#            + `ip -n SB -batch -` for the sandbox side (addr, eth0 up, lo up, default route);
#            detach is one `ip link del`. (iproute2 6.1 cannot switch namespace inside one batch:
#            `-n` is not accepted on a batch line and `netns exec` in a batch forks a new process,
#            so two ip processes per attach is the least iproute2 can do, as in the peers' floor.)
#   Berth    BerthAttachProbe: AttachKit, the same Swift code the ordo-one `Attach` benchmark times.
# Every attach gets a fresh, pre-created sandbox netns; each variant has its own host netns with
# bridge brbench 10.77.0.1/16 up. The variants run interleaved in ROUNDS rounds of ITER/ROUNDS
# attach+detach each (plus one unrecorded warm-up per round), so machine load hits all alike.
#
#   usage: Benchmarks/compare-netlink.sh [ITER] [--steps]     (env ROUNDS, default 4)
#
# Run it as is: it builds outside the sandbox, then re-runs itself inside
# `unshare --net --mount` + ../scripts/in-sandbox.sh; the measuring part refuses to run elsewhere.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ITER=${1:-100}
STEPS=${2:-}
ROUNDS=${ROUNDS:-4}
FLOOR_BIN=$HERE/.build/attach_floor
PROBE_BIN=$HERE/.build/release/BerthAttachProbe

if [ "${BERTH_SANDBOX:-}" != 1 ]; then
  cd "$HERE"
  swift build -c release --product BerthAttachProbe
  cc -O2 -Wall -o "$FLOOR_BIN" floor/attach_floor.c $(pkg-config --cflags --libs libmnl)
  BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
  export BERTH_HOST_NETNS ROUNDS
  exec unshare --net --mount -- "$HERE/../scripts/in-sandbox.sh" "$HERE/$(basename "$0")" "$ITER" "$STEPS"
fi

# ---- inside the sandbox from here on ----
mine=$(stat -L -c %i /proc/self/ns/net)
if [ "$mine" = "${BERTH_HOST_NETNS:-}" ] || [ "$mine" = "$(stat -L -c %i /proc/1/ns/net 2>/dev/null || true)" ]; then
  echo "compare-netlink: refusing to run in the machine's own network namespace" >&2; exit 2
fi
W=$(mktemp -d /tmp/berth-compare.XXXXXX)
trap 'rm -rf "$W"' EXIT
PER=$(( (ITER + ROUNDS - 1) / ROUNDS ))

# make_env NAME: netns NAME-host with lo up and bridge brbench 10.77.0.1/16 up; SB pool NAME-sb0..PER
make_env() {
  ip netns add "$1-host"
  ip -n "$1-host" link set lo up
  ip -n "$1-host" link add brbench up type bridge
  ip -n "$1-host" addr add 10.77.0.1/16 brd 10.77.255.255 dev brbench
  for i in $(seq 0 "$PER"); do ip netns add "$1-sb$i"; done
}
drop_env() {
  ip -n "$1-host" link del brbench 2>/dev/null || true
  for i in $(seq 0 "$PER"); do ip netns del "$1-sb$i"; done
  ip netns del "$1-host"
  sleep 1   # let the kernel's asynchronous netns cleanup finish before the next variant
}

run_floor() {
  make_env floor
  "$FLOOR_BIN" "$PER" /run/netns/floor-host floor-sb brbench $STEPS >> "$W/floor.out"
  drop_env floor
}

# The ip loop runs inside the host netns, so the host side is a plain `ip -batch -`.
ip_attach() {  # ip_attach I: veth vbI into sandbox ip-sbI, then the sandbox side
  local i=$1 a=$((1 + ($1 / 250) % 250)) b=$((2 + $1 % 250))
  ip -batch - <<EOF
link add vb$i up master brbench type veth peer name eth0 netns ip-sb$i
EOF
  ip -n "ip-sb$i" -batch - <<EOF
addr add 10.77.$a.$b/16 brd 10.77.255.255 dev eth0
link set eth0 up
link set lo up
route add default via 10.77.0.1
EOF
}
ip_loop() {
  local n=$1 i t0 t1 t2
  for i in $(seq 0 "$n"); do
    t0=${EPOCHREALTIME/./}
    ip_attach "$i"
    t1=${EPOCHREALTIME/./}
    ip link del "vb$i"
    t2=${EPOCHREALTIME/./}
    [ "$i" = 0 ] && continue
    echo "create $i $((10#$t1 - 10#$t0))"
    echo "delete $i $((10#$t2 - 10#$t1))"
  done
}
run_ip() {
  make_env ip
  ip netns exec ip-host bash -c "set -e; $(declare -f ip_attach ip_loop); ip_loop $PER" >> "$W/ip.out"
  drop_env ip
}

run_berth() {
  # The probe makes its own host netns, bridge and sandbox pool (AttachFixture) and removes them.
  "$PROBE_BIN" "$PER" $STEPS >> "$W/berth.out"
  sleep 1
}

# One unmeasured attach per process-based variant, checked with ip: the C floor and the ip batch
# must leave what Berth's probe checks itself (vb0 up on brbench; eth0 up with its address, lo up,
# default route via 10.77.0.1).
check_attached() {  # check_attached VARIANT (output captured first: grep -q + pipefail would race SIGPIPE)
  local h=$1-host s=$1-sb0 ok=1 vb eth lo addr route
  vb=$(ip -n "$h" -o link show vb0); eth=$(ip -n "$s" -o link show eth0); lo=$(ip -n "$s" -o link show lo)
  addr=$(ip -n "$s" -o -4 addr show dev eth0); route=$(ip -n "$s" route show default)
  [[ $vb == *"master brbench"* ]] || { echo "$1: vb0 not on brbench: $vb" >&2; ok=0; }
  [[ $vb =~ [\<,]UP[,\>] ]] || { echo "$1: vb0 not up: $vb" >&2; ok=0; }
  [[ $eth =~ [\<,]UP[,\>] ]] || { echo "$1: eth0 not up: $eth" >&2; ok=0; }
  [[ $lo =~ [\<,]UP[,\>] ]] || { echo "$1: lo not up: $lo" >&2; ok=0; }
  [[ $addr == *"inet 10.77.1.2/16 brd 10.77.255.255"* ]] || { echo "$1: eth0 address wrong: $addr" >&2; ok=0; }
  [[ $route == *"default via 10.77.0.1 dev eth0"* ]] || { echo "$1: no default route: $route" >&2; ok=0; }
  [ $ok = 1 ] || exit 1
}
PER_SAVED=$PER; PER=0
make_env floor; "$FLOOR_BIN" 0 /run/netns/floor-host floor-sb brbench --keep; check_attached floor; drop_env floor
make_env ip; ip netns exec ip-host bash -c "set -e; $(declare -f ip_attach); ip_attach 0"
check_attached ip; drop_env ip
PER=$PER_SAVED
echo "compare-netlink: checked that the C floor and the ip batch leave the expected state (Berth checks its own)" >&2

echo "compare-netlink: $ROUNDS rounds x $PER attach+detach per variant (kernel $(uname -r), $(nproc) CPUs)" >&2
for r in $(seq "$ROUNDS"); do
  echo "  round $r/$ROUNDS: C floor, ip -batch, Berth" >&2
  run_floor; run_ip; run_berth
done

# stats FILE OP -> "n median p99 mean" in ms (nearest-rank percentiles)
stats() {
  awk -v op="$2" '$1==op {print $3/1000}' "$1" | sort -g | awk '
    {v[NR]=$1; s+=$1}
    END { if (NR==0) { print "0 - - -"; exit }
          m=int(NR*0.5); if (m<NR*0.5) m++; if (m<1) m=1
          p=int(NR*0.99); if (p<NR*0.99) p++; if (p<1) p=1
          printf "%d %.3f %.3f %.3f\n", NR, v[m], v[p], s/NR }'
}
# step stats FILE NAME -> median (ms)
step_median() {
  awk -v n="$2" '$1=="step" && $2==n {print $4/1000}' "$1" | sort -g | awk '
    {v[NR]=$1} END { if (NR==0) { print "-"; exit } m=int(NR*0.5); if (m<NR*0.5) m++; printf "%.3f\n", v[m] }'
}

echo
for op in create delete; do
  read -r _ fmed fp99 _ < <(stats "$W/floor.out" $op)
  [ $op = create ] && title="create half (attach)" || title="delete half (detach)"
  echo "$title, ms"
  printf '| %-26s | %5s | %8s | %8s | %8s | %10s | %10s |\n' variant n median p99 mean "median/C" "p99/C"
  printf '|%s|%s:|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..28})" "------" "---------" "---------" "---------" "-----------" "-----------"
  for v in floor ip berth; do
    case $v in floor) label="C floor (libmnl)";; ip) label="ip -batch (2 processes)";; berth) label="Berth (BerthNetlink)";; esac
    [ $op = delete ] && [ $v = ip ] && label="ip link del (1 process)"
    read -r n med p99 mean < <(stats "$W/$v.out" $op)
    printf '| %-26s | %5s | %8s | %8s | %8s | %10s | %10s |\n' "$label" "$n" "$med" "$p99" "$mean" \
      "$(awk -v a="$med" -v b="$fmed" 'BEGIN{printf "%.2fx", a/b}')" \
      "$(awk -v a="$p99" -v b="$fp99" 'BEGIN{printf "%.2fx", a/b}')"
  done
  echo
done
read -r _ bmed _ < <(stats "$W/berth.out" create)
read -r _ imed _ < <(stats "$W/ip.out" create)
read -r _ fmed _ < <(stats "$W/floor.out" create)
read -r _ bdel _ < <(stats "$W/berth.out" delete)
read -r _ fdel _ < <(stats "$W/floor.out" delete)
awk -v b="$bmed" -v i="$imed" -v f="$fmed" -v bd="$bdel" -v fd="$fdel" 'BEGIN{
  printf "targets (reported, not asserted): Berth create <= 2x C floor: %.2fx; Berth >= 5x faster than ip -batch: %.1fx; Berth delete <= 1.25x C floor: %.2fx\n", b/f, i/b, bd/fd }'

if [ -n "$STEPS" ]; then
  echo
  echo "create half by step, median ms"
  printf '| %-22s | %8s | %8s | %8s |\n' step "C floor" Berth "Berth-C"
  printf '|%s|%s:|%s:|%s:|\n' "------------------------" "---------" "---------" "---------"
  for s in veth-create open-sandbox-session getlink-eth0 addr-add eth0-up lo-up route-add; do
    f=$(step_median "$W/floor.out" $s); b=$(step_median "$W/berth.out" $s)
    printf '| %-22s | %8s | %8s | %8s |\n' "$s" "$f" "$b" "$(awk -v a="$b" -v c="$f" 'BEGIN{printf "%+.3f", a-c}')"
  done
fi
