#!/usr/bin/env bash
# Berth's CNI plugin against the reference `bridge` + `host-local` plugins (Debian's
# containernetworking-plugins), driven identically in ONE run (issue 14): per contestant, ADD one
# fresh, pre-created netns to an existing network (the first ADD, which creates the network, and a
# pinned container are warm-up, not timed), then DEL it; one exec per verb, env + stdin exactly as
# a runtime sends them, each contestant in its own host netns. ROUNDS rounds alternate the
# contestants so machine noise hits both alike. Prints p50 / p90 per verb and the ratios, and
# writes them to RESULTS/cni-compare.md. Everything runs inside `unshare --net --mount`.
#   usage: Benchmarks/compare-cni.sh [ITER]     env: ROUNDS (10), RESULTS (Benchmarks/results)
set -euo pipefail
cd "$(dirname "$0")/.."
ITER=${1:-100} ROUNDS=${ROUNDS:-10}
RESULTS=${RESULTS:-$PWD/Benchmarks/results}
if [ "${CNI_BENCH_INNER:-0}" != 1 ]; then
  export PATH=/opt/swift/usr/bin:$PATH
  # As scripts/install.sh builds the installed binary (static Swift runtime: a faster process start).
  swift build -c release --product berth -Xswiftc -static-stdlib >/dev/null
  BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net) CNI_BENCH_INNER=1 \
    exec unshare --net --mount -- scripts/in-sandbox.sh "$0" "$@"
fi
B=$PWD/.build/release/berth
W=$(mktemp -d /tmp/berth-cnibench.XXXXXX); trap 'rm -rf "$W"' EXIT
ip netns add hb; ip netns add hr
BERTH='{"cniVersion":"1.0.0","name":"bnet","type":"berth","subnet":"10.97.0.0/16","stateDir":"'$W'/state"}'
REF='{"cniVersion":"1.0.0","name":"rnet","type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","dataDir":"'$W'/ipam","ranges":[[{"subnet":"10.98.0.0/16"}]],"routes":[{"dst":"0.0.0.0/0"}]}}'
per=$(( ITER / ROUNDS ))
for i in $(seq 0 $(( per * ROUNDS ))); do ip netns add b$i; ip netns add r$i; done
# one exec: HOSTNS PLUGIN VERB ID CONFIG -> microseconds on stdout
one() {
  local s e
  s=$(date +%s%N)
  printf '%s' "$5" | ip netns exec "$1" env -i CNI_COMMAND="$3" CNI_CONTAINERID="$4" CNI_NETNS=/run/netns/"$4" CNI_IFNAME=eth0 \
     CNI_PATH=/usr/lib/cni PATH=/usr/sbin:/usr/bin:/sbin:/bin "$2" >/dev/null || { echo "exec failed: $2 $3 $4" >&2; exit 1; }
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
}
# ip netns exec's own cost (it remounts /sys), measured the same way and subtracted from neither:
# reported so the figures can be read against it.
floor() { local s e; s=$(date +%s%N); ip netns exec hb /bin/true; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
one hb "$B" ADD b0 "$BERTH" >/dev/null; one hr /usr/lib/cni/bridge ADD r0 "$REF" >/dev/null   # warm-up, pinned
n=1
for round in $(seq 1 $ROUNDS); do
  for k in $(seq 1 $per); do
    echo "berth ADD $(one hb "$B" ADD b$n "$BERTH")" >> $W/t
    echo "ref ADD $(one hr /usr/lib/cni/bridge ADD r$n "$REF")" >> $W/t
    echo "floor exec $(floor)" >> $W/t
    echo "berth VERSION $(one hb "$B" VERSION b0 '{"cniVersion":"1.0.0"}')" >> $W/t
    echo "ref VERSION $(one hr /usr/lib/cni/bridge VERSION r0 '{"cniVersion":"1.0.0"}')" >> $W/t
    n=$((n + 1))
  done
  for k in $(seq $((n - per)) $((n - 1))); do
    echo "ref DEL $(one hr /usr/lib/cni/bridge DEL r$k "$REF")" >> $W/t
    echo "berth DEL $(one hb "$B" DEL b$k "$BERTH")" >> $W/t
  done
done
stat() { awk -v who="$1" -v verb="$2" '$1==who && $2==verb {print $3}' $W/t | sort -n |
  awk '{a[NR]=$1} END {printf "%.2f %.2f", a[int((NR+1)/2)]/1000, a[int(NR*0.9)]/1000}'; }
mkdir -p "$RESULTS"
{
  echo "# CNI plugin ADD/DEL per exec: berth vs reference bridge + host-local ($(date -u +%F), $(nproc) cores, kernel $(uname -r))"
  echo
  echo "$ITER ADD + $ITER DEL per contestant, $ROUNDS interleaved rounds; each figure is one exec through \`ip netns exec\` (floor below)."
  echo
  echo "| verb | berth p50 / p90 ms | reference p50 / p90 ms | reference / berth (p50) |"
  echo "|---|---|---|---|"
  for verb in ADD DEL VERSION; do
    read -r bp bq <<<"$(stat berth $verb)"; read -r rp rq <<<"$(stat ref $verb)"
    echo "| $verb | $bp / $bq | $rp / $rq | $(awk -v r="$rp" -v b="$bp" 'BEGIN {printf "%.1f×", r / b}') |"
  done
  read -r fp fq <<<"$(stat floor exec)"
  echo "| \`ip netns exec true\` (floor) | $fp / $fq | | |"
  echo
  echo "VERSION does no work: it is each binary's process start (plus the floor)."
} | tee "$RESULTS/cni-compare.md"
