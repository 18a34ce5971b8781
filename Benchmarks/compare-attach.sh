#!/usr/bin/env bash
# Library attach against the libmnl kernel floor, side by side in ONE run (issue 11's "attach ≤
# 1.5× the floor"): the attach / detach part of compare-peers.sh without the peers, so a tuning
# step can be judged in a few minutes. Optionally a second BerthProbe binary (BEFORE_PROBE=path,
# e.g. a copy built from the commit before the change) runs as two more contestants, interleaved
# with the others, so before / after ratios come from the same run.
#
#   usage: compare-attach.sh [ITER]     (env ROUNDS, default 10; BEFORE_PROBE; BACKENDS "iptables nftables")
#
# Contestants (each its own host netns, an existing network, fresh pre-created sandboxes):
#   floor        floor/attach_floor.c (libmnl, no firewall)
#   floor-v6off  the same plus Docker's disable_ipv6 on eth0 (--disable-ipv6), which Berth must do too
#   lib-ipt      BerthProbe loop, iptables      lib-nft      BerthProbe loop, nftables
#   before-ipt   $BEFORE_PROBE loop, iptables   before-nft   $BEFORE_PROBE loop, nftables
#   drain-ipt    (DRAIN=1) BerthProbe loop with an unmeasured drain() after each detach, so the
#   drain-nft    attach does not overlap the background reclaimer's sweep
# Prints a Markdown table: n, median, p90 per contestant and attach / floor.
# Builds outside the sandbox, then re-runs itself inside `unshare --net --mount` +
# ../scripts/in-sandbox.sh; the measuring part refuses to run in the machine's own namespace.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ITER=${1:-200}
ROUNDS=${ROUNDS:-10}
BACKENDS=${BACKENDS:-iptables nftables}
REL=$HERE/.build/release
FLOOR_BIN=$HERE/.build/attach_floor

if [ "${BERTH_SANDBOX:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "compare-attach: run as root" >&2; exit 2; }
  cd "$HERE"
  if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product BerthProbe
    swift build -c release --product berth
    cc -O2 -Wall -o "$FLOOR_BIN" floor/attach_floor.c $(pkg-config --cflags --libs libmnl)
  fi
  BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
  export BERTH_HOST_NETNS ROUNDS BACKENDS BEFORE_PROBE="${BEFORE_PROBE:-}" RAW="${RAW:-}" DRAIN="${DRAIN:-}"
  exec unshare --net --mount -- "$HERE/../scripts/in-sandbox.sh" "$HERE/$(basename "$0")" "$ITER"
fi

# ---- inside the sandbox from here on ----
mine=$(stat -L -c %i /proc/self/ns/net)
for pid in 1 2; do
  init=$(stat -L -c %i /proc/$pid/ns/net 2>/dev/null || true)
  if [ "$mine" = "${BERTH_HOST_NETNS:-}" ] || [ "$mine" = "$init" ]; then
    echo "compare-attach: refusing to run in the machine's own network namespace" >&2; exit 2
  fi
done
W=$(mktemp -d /tmp/berth-attach.XXXXXX)
trap 'rm -rf "$W"' EXIT
PER=$(( (ITER + ROUNDS - 1) / ROUNDS ))
log() { echo "compare-attach: $*" >&2; }

CONTESTANTS=(floor floor-v6off)
for b in $BACKENDS; do
  s=${b:0:3}; [ "$s" = ipt ] || s=nft
  CONTESTANTS+=("lib-$s")
  if [ -n "${BEFORE_PROBE:-}" ]; then CONTESTANTS+=("before-$s"); fi
  if [ -n "${DRAIN:-}" ]; then CONTESTANTS+=("drain-$s"); fi
done
backend_of() { case $1 in *-ipt) echo iptables;; *) echo nftables;; esac; }
probe_of() { case $1 in before-*) echo "$BEFORE_PROBE";; *) echo "$REL/BerthProbe";; esac; }

setup_env() {
  local c=$1
  ip netns add "$c-host"; ip -n "$c-host" link set lo up
  case $c in
    floor|floor-v6off)
      ip -n "$c-host" link add brbench up type bridge
      ip -n "$c-host" addr add 10.77.0.1/16 brd 10.77.255.255 dev brbench ;;
    *)
      "$REL/berth" network create --backend "$(backend_of "$c")" --state-dir "$W/$c" --host-netns "/run/netns/$c-host" \
        --subnet 10.77.0.0/16 bench >/dev/null ;;
  esac
}

# run_chunk CONTESTANT: PER+1 fresh sandboxes <c>-sb0..PER, one warm-up + PER recorded pairs.
run_chunk() {
  local c=$1 i
  for ((i = 0; i <= PER; i++)); do ip netns add "$c-sb$i"; done
  case $c in
    floor) "$FLOOR_BIN" "$PER" /run/netns/floor-host floor-sb brbench | awk '{print ($1=="create"?"attach":"detach"), $2, $3}' ;;
    floor-v6off) "$FLOOR_BIN" "$PER" /run/netns/floor-v6off-host floor-v6off-sb brbench --disable-ipv6 \
                   | awk '{print ($1=="create"?"attach":"detach"), $2, $3}' ;;
    drain-*) BERTH_PROBE_DRAIN=1 "$REL/BerthProbe" loop "$W/$c" "$(backend_of "$c")" "/run/netns/$c-host" bench "$c-sb" 0 "$PER" | grep -v '^open' ;;
    *) "$(probe_of "$c")" loop "$W/$c" "$(backend_of "$c")" "/run/netns/$c-host" bench "$c-sb" 0 "$PER" | grep -v '^open' ;;
  esac | awk '$2 != 0' >> "$W/$c.out"   # index 0 is the warm-up
  for ((i = 0; i <= PER; i++)); do ip netns del "$c-sb$i"; done
  sleep 0.5   # the kernel frees dropped namespaces asynchronously; let it finish before the next one
}

# stats FILE OP -> "n median p90" in ms (nearest-rank percentiles)
stats() {
  awk -v op="$2" '$1==op {print $3/1000}' "$1" | sort -g | awk '
    {v[NR]=$1}
    END { if (NR==0) { print "0 - -"; exit }
          m=int(NR*0.5); if (m<NR*0.5) m++; if (m<1) m=1
          p=int(NR*0.9); if (p<NR*0.9) p++; if (p<1) p=1
          printf "%d %.3f %.3f\n", NR, v[m], v[p] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f", a/b }'; }

log "contestants: ${CONTESTANTS[*]}; $ROUNDS rounds x $PER attach+detach each (+1 warm-up per round); load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${CONTESTANTS[@]}"; do setup_env "$c"; : > "$W/$c.out"; done
for ((r = 0; r < ROUNDS; r++)); do
  for c in "${CONTESTANTS[@]}"; do run_chunk "$c"; done
done

declare -A MED P90 N
for c in "${CONTESTANTS[@]}"; do
  for op in attach detach; do read -r N[$c.$op] MED[$c.$op] P90[$c.$op] < <(stats "$W/$c.out" $op); done
done
echo "### Attach vs the libmnl floor ($(date -u +%Y-%m-%dT%H:%M:%SZ), load at end $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| contestant | n | attach median ms | attach p90 | attach ×floor | ×floor-v6off | detach median ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for c in "${CONTESTANTS[@]}"; do
  echo "| $c | ${N[$c.attach]} | ${MED[$c.attach]} | ${P90[$c.attach]} | $(ratio "${MED[$c.attach]}" "${MED[floor.attach]}") | $(ratio "${MED[$c.attach]}" "${MED[floor-v6off.attach]}") | ${MED[$c.detach]} |"
done
if [ -n "${RAW:-}" ]; then mkdir -p "$RAW"; cp "$W"/*.out "$RAW"/; fi
