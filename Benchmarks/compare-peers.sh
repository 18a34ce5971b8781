#!/usr/bin/env bash
# Berth against its peers and the kernel floor, in ONE run (issue 6, issue 3's comparison part).
#
# Workload, per contestant: attach one sandbox (a fresh, pre-created netns) to an EXISTING bridge
# network with a fresh address (veth, address, default route, lo up, the tool's rules) and detach
# it again; ITER iterations per contestant, interleaved round-robin in ROUNDS rounds (each round
# runs every contestant for ITER/ROUNDS attach+detach pairs, plus one unrecorded warm-up pair), so
# machine noise hits all alike. Every contestant has its own host netns; all inside the sandbox.
#
#   floor      floor/attach_floor.c: the rtnetlink requests straight through libmnl (no firewall)
#   lib-ipt    BerthProbe: NetworkController in-process, iptables backend
#   lib-nft    the same, nftables backend (only when it works here)
#   c-abi      floor/berth_c_probe.c through include/berth.h, linked to libBerthC.so
#   cli        `berth attach` / `berth detach` per call (one process each)
#   netavark   netavark 1.4 `setup` / `teardown` with its JSON options (caller-chosen address),
#              run inside its host netns the way podman does; one pinned container keeps the
#              bridge (created on first setup, removed on last teardown) existing
#   cni        CNI `bridge` plugin ADD / DEL with host-local IPAM and ipMasq (one process each),
#              run inside its host netns; one pinned container keeps cni0 warm
#
# Then a network create/delete table (NET_ITER, Berth library / CLI and `ip` as the floor) and a
# scale run: SCALE sandboxes attached across SCALE_NETS networks one after another, then detached
# in the same order, for Berth (each working backend) and the peers (PEER_SCALE sandboxes).
#
#   usage: Benchmarks/compare-peers.sh [ITER]
#   env:   ROUNDS (10), NET_ITER (20), SCALE (1000), PEER_SCALE (SCALE), SCALE_NETS (10),
#          SKIP_SCALE=1, SKIP_INSTALL=1, RESULTS (Benchmarks/results)
#
# Run it as root as is, on Debian 12: it installs the peers with apt (netavark,
# containernetworking-plugins) and the build dependencies when missing, builds outside the
# sandbox, then re-runs itself inside `unshare --net --mount` + ../scripts/in-sandbox.sh; the
# measuring part refuses to run in the machine's own network namespace.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ITER=${1:-200}
ROUNDS=${ROUNDS:-10}
NET_ITER=${NET_ITER:-20}
SCALE=${SCALE:-1000}
PEER_SCALE=${PEER_SCALE:-$SCALE}
SCALE_NETS=${SCALE_NETS:-10}
RESULTS=${RESULTS:-$HERE/results}
REL=$HERE/.build/release
FLOOR_BIN=$HERE/.build/attach_floor
CPROBE_BIN=$HERE/.build/berth_c_probe
NETAVARK=/usr/lib/podman/netavark
CNI_DIR=/usr/lib/cni

if [ "${BERTH_SANDBOX:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "compare-peers: run as root" >&2; exit 2; }
  if [ -z "${SKIP_INSTALL:-}" ]; then
    need=()
    for p in netavark containernetworking-plugins iptables nftables iproute2 libmnl-dev libnftnl-dev libcap-dev gcc pkg-config; do
      [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
      echo "compare-peers: apt-get install ${need[*]}" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
    fi
  fi
  cd "$HERE"
  swift build -c release --product BerthProbe
  swift build -c release --product berth
  cc -O2 -Wall -o "$FLOOR_BIN" floor/attach_floor.c $(pkg-config --cflags --libs libmnl)
  rm -f "$CPROBE_BIN"
  # The C ABI contestant: libBerthC.so (include/berth.h implemented by Sources/BerthC).
  if swift build -c release --product BerthC; then
    cc -O2 -Wall -I"$HERE/../include" -o "$CPROBE_BIN" floor/berth_c_probe.c -L"$REL" -lBerthC -Wl,-rpath,"$REL" \
      || echo "compare-peers: C probe did not build; the c-abi contestant is skipped" >&2
  else
    echo "compare-peers: libBerthC did not build; the c-abi contestant is skipped" >&2
  fi
  BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
  export BERTH_HOST_NETNS ROUNDS NET_ITER SCALE PEER_SCALE SCALE_NETS RESULTS SKIP_SCALE="${SKIP_SCALE:-}"
  exec unshare --net --mount -- "$HERE/../scripts/in-sandbox.sh" "$HERE/$(basename "$0")" "$ITER"
fi

# ---- inside the sandbox from here on ----
mine=$(stat -L -c %i /proc/self/ns/net)
for pid in 1 2; do
  init=$(stat -L -c %i /proc/$pid/ns/net 2>/dev/null || true)
  if [ "$mine" = "${BERTH_HOST_NETNS:-}" ] || [ "$mine" = "$init" ]; then
    echo "compare-peers: refusing to run in the machine's own network namespace" >&2; exit 2
  fi
done
W=$(mktemp -d /tmp/berth-peers.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$RESULTS"
PER=$(( (ITER + ROUNDS - 1) / ROUNDS ))
BERTH=$REL/berth
log() { echo "compare-peers: $*" >&2; }

CONTESTANTS=(floor lib-ipt)
# nftables: a contestant only when the backend works here (one network create in a scratch netns).
ip netns add nftcheck
if "$BERTH" network create --backend nftables --state-dir "$W/nftcheck" --host-netns /run/netns/nftcheck nftcheck >/dev/null 2>"$W/nftcheck.err"; then
  CONTESTANTS+=(lib-nft); NFT=1
else
  NFT=0; log "nftables backend does not work here ($(head -1 "$W/nftcheck.err")); lib-nft skipped"
fi
ip netns del nftcheck
if [ -x "$CPROBE_BIN" ]; then CONTESTANTS+=(c-abi); else log "TODO: no C ABI probe (libBerthC / berth_c_probe did not build); c-abi skipped"; fi
CONTESTANTS+=(cli netavark cni)

label() {
  case $1 in
    floor) echo "kernel floor (libmnl, C)";; lib-ipt) echo "Berth library (iptables)";; lib-nft) echo "Berth library (nftables)";;
    c-abi) echo "Berth C ABI (iptables)";; cli) echo "berth CLI per call (iptables)";;
    netavark) echo "netavark 1.4 setup/teardown";; cni) echo "CNI bridge 1.1.1 ADD/DEL (host-local, ipMasq)";;
    ip) echo "ip (iproute2, floor)";; lib-ipt-net) echo "Berth library (iptables)";; lib-nft-net) echo "Berth library (nftables)";;
    cli-net) echo "berth CLI per call (iptables)";; *) echo "$1";;
  esac
}

# ---------- per-contestant environments (host netns + existing network), made once ----------
netavark_opts() {  # netavark_opts NET_INDEX IP -> options JSON for network nvK (bridge nvbrK, 10.(90+K).0.0/16)
  local k=$1 ip=$2
  printf '{"container_id":"%s","container_name":"c%s","port_mappings":[],' "$(printf 'c%063d' "$RANDOM$RANDOM")" "$RANDOM"
  printf '"networks":{"nv%d":{"static_ips":["%s"],"interface_name":"eth0"}},' "$k" "$ip"
  printf '"network_info":{"nv%d":{"name":"nv%d","id":"%064d","driver":"bridge","network_interface":"nvbr%d",' "$k" "$k" "$k" "$k"
  printf '"subnets":[{"subnet":"10.%d.0.0/16","gateway":"10.%d.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false,' $((90 + k)) $((90 + k))
  printf '"ipam_options":{"driver":"host-local"}}}}\n'
}
cni_conf() {  # cni_conf NET_INDEX -> bridge plugin config for network cniK (bridge cnibrK, 10.(60+K).0.0/16)
  local k=$1
  printf '{"cniVersion":"1.0.0","name":"cni%d","type":"bridge","bridge":"cnibr%d","isGateway":true,"ipMasq":true,"hairpinMode":true,' "$k" "$k"
  printf '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.%d.0.0/16","gateway":"10.%d.0.1"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s/cni-ipam"}}\n' $((60 + k)) $((60 + k)) "$W"
}

setup_env() {
  local c=$1
  ip netns add "$c-host"; ip -n "$c-host" link set lo up
  case $c in
    floor)
      ip -n floor-host link add brbench up type bridge
      ip -n floor-host addr add 10.77.0.1/16 brd 10.77.255.255 dev brbench ;;
    lib-ipt|c-abi|cli)
      "$BERTH" network create --backend iptables --state-dir "$W/$c" --host-netns "/run/netns/$c-host" --subnet 10.77.0.0/16 bench >/dev/null ;;
    lib-nft)
      "$BERTH" network create --backend nftables --state-dir "$W/$c" --host-netns "/run/netns/$c-host" --subnet 10.77.0.0/16 bench >/dev/null ;;
    netavark)
      mkdir -p "$W/nvcfg"; ip netns add nv-pin
      netavark_opts 0 10.90.0.2 > "$W/nv-pin.json"
      ip netns exec netavark-host "$NETAVARK" --config "$W/nvcfg" setup /run/netns/nv-pin < "$W/nv-pin.json" >/dev/null ;;
    cni)
      cni_conf 0 > "$W/cni0.json"; ip netns add cni-pin
      ip netns exec cni-host env CNI_COMMAND=ADD CNI_CONTAINERID=pin CNI_NETNS=/run/netns/cni-pin CNI_IFNAME=eth0 \
        CNI_PATH=$CNI_DIR "$CNI_DIR/bridge" < "$W/cni0.json" >/dev/null ;;
  esac
}

# ---------- the per-call loops (run in bash; EPOCHREALTIME, no fork for the clock) ----------
# Each prints "attach <i> <us>" / "detach <i> <us>" for i = FROM..TO (FROM is the warm-up).
cli_loop() {  # cli_loop STATE HOSTNS PREFIX FROM TO OUT
  local s=$1 h=$2 p=$3 i t0 t1 t2 id rest
  for ((i = $4; i <= $5; i++)); do
    t0=${EPOCHREALTIME/./}
    "$BERTH" attach --state-dir "$s" --host-netns "$h" bench "$p$i" > "$6"
    t1=${EPOCHREALTIME/./}
    read -r id rest < "$6"
    t2=${EPOCHREALTIME/./}
    "$BERTH" detach --state-dir "$s" --host-netns "$h" "$id" >/dev/null
    echo "attach $i $((10#$t1 - 10#$t0))"; echo "detach $i $((${EPOCHREALTIME/./} - 10#$t2))"
  done
}
netavark_loop() {  # inside netavark-host: netavark_loop PREFIX FROM TO BASE (address index base)
  local i t0 t1 g
  for ((i = $2; i <= $3; i++)); do
    g=$(($4 + i)); netavark_opts 0 "10.90.$((1 + g / 250)).$((2 + g % 250))" > "$W/nv-$i.json"
    t0=${EPOCHREALTIME/./}
    "$NETAVARK" --config "$W/nvcfg" setup "/run/netns/$1$i" < "$W/nv-$i.json" >/dev/null
    t1=${EPOCHREALTIME/./}
    "$NETAVARK" --config "$W/nvcfg" teardown "/run/netns/$1$i" < "$W/nv-$i.json" >/dev/null
    echo "attach $i $((10#$t1 - 10#$t0))"; echo "detach $i $((${EPOCHREALTIME/./} - 10#$t1))"
  done
}
cni_loop() {  # inside cni-host: cni_loop PREFIX FROM TO BASE
  local i t0 t1
  for ((i = $2; i <= $3; i++)); do
    t0=${EPOCHREALTIME/./}
    CNI_COMMAND=ADD CNI_CONTAINERID="c$(($4 + i))" CNI_NETNS="/run/netns/$1$i" CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR \
      "$CNI_DIR/bridge" < "$W/cni0.json" >/dev/null
    t1=${EPOCHREALTIME/./}
    CNI_COMMAND=DEL CNI_CONTAINERID="c$(($4 + i))" CNI_NETNS="/run/netns/$1$i" CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR \
      "$CNI_DIR/bridge" < "$W/cni0.json" >/dev/null
    echo "attach $i $((10#$t1 - 10#$t0))"; echo "detach $i $((${EPOCHREALTIME/./} - 10#$t1))"
  done
}
export -f netavark_opts netavark_loop cni_loop
export W NETAVARK CNI_DIR

# run_chunk CONTESTANT ROUND: PER+1 fresh sandboxes <c>-sb0..PER, one warm-up + PER recorded pairs.
run_chunk() {
  local c=$1 r=$2 i base=$(($2 * (PER + 1)))
  for ((i = 0; i <= PER; i++)); do ip netns add "$c-sb$i"; done
  case $c in
    floor) "$FLOOR_BIN" "$PER" /run/netns/floor-host floor-sb brbench | awk '{print ($1=="create"?"attach":"detach"), $2, $3}' ;;
    lib-ipt) "$REL/BerthProbe" loop "$W/$c" iptables "/run/netns/$c-host" bench "$c-sb" 0 "$PER" | grep -v '^open' ;;
    lib-nft) "$REL/BerthProbe" loop "$W/$c" nftables "/run/netns/$c-host" bench "$c-sb" 0 "$PER" | grep -v '^open' ;;
    c-abi) "$CPROBE_BIN" "$W/$c" iptables "/run/netns/$c-host" bench "$c-sb" 0 "$PER" | grep -v '^open' ;;
    cli) cli_loop "$W/$c" "/run/netns/$c-host" "$c-sb" 0 "$PER" "$W/cli.last" ;;
    netavark) ip netns exec netavark-host bash -c "netavark_loop netavark-sb 0 $PER $base" ;;
    cni) ip netns exec cni-host bash -c "cni_loop cni-sb 0 $PER $base" ;;
  esac | awk '$2 != 0' >> "$W/$c.out"   # index 0 is the warm-up
  for ((i = 0; i <= PER; i++)); do ip netns del "$c-sb$i"; done
  sleep 0.5   # the kernel frees dropped namespaces asynchronously; let it finish before the next one
}

# stats FILE OP -> "n median p99 mean" in ms (nearest-rank percentiles)
stats() {
  awk -v op="$2" '$1==op {print $3/1000}' "$1" | sort -g | awk '
    {v[NR]=$1; s+=$1}
    END { if (NR==0) { print "0 - - -"; exit }
          m=int(NR*0.5); if (m<NR*0.5) m++; if (m<1) m=1
          p=int(NR*0.99); if (p<NR*0.99) p++; if (p<1) p=1
          printf "%d %.3f %.3f %.3f\n", NR, v[m], v[p], s/NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f", a/b }'; }

KERNEL=$(uname -r); NPROC=$(nproc); CPU=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)
NVVER=$("$NETAVARK" --version 2>/dev/null | head -1); CNIVER=$(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo '?')
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MACHINE="$NPROC vCPU ($CPU), $MEM, kernel $KERNEL; $NVVER; containernetworking-plugins $CNIVER; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# =============================== 1. attach / detach, round-robin ===============================
log "contestants: ${CONTESTANTS[*]}; $ROUNDS rounds x $PER attach+detach each (+1 warm-up per round)"
for c in "${CONTESTANTS[@]}"; do setup_env "$c"; : > "$W/$c.out"; done
for ((r = 0; r < ROUNDS; r++)); do
  log "round $((r + 1))/$ROUNDS"
  for c in "${CONTESTANTS[@]}"; do run_chunk "$c" "$r"; done
done

# ---- table ----
declare -A MED P99 N
for c in "${CONTESTANTS[@]}"; do
  for op in attach detach; do read -r N[$c.$op] MED[$c.$op] P99[$c.$op] _ < <(stats "$W/$c.out" $op); done
done
fastest() {  # fastest OP -> the peer (netavark | cni) with the lower median
  awk -v a="${MED[netavark.$1]}" -v b="${MED[cni.$1]}" 'BEGIN{ print (b=="-" || (a!="-" && a+0 <= b+0)) ? "netavark" : "cni" }'
}
FA=$(fastest attach); FD=$(fastest detach)
MD=$RESULTS/compare-peers.md; CSV=$RESULTS/compare-peers.csv
{
  echo "### Attach + detach of one sandbox on an existing bridge network ($STAMP)"
  echo
  echo "Machine: $MACHINE. $ROUNDS interleaved rounds, n = recorded iterations per contestant; times in ms."
  echo "Fastest peer: attach $(label "$FA"), detach $(label "$FD"). Ratios: contestant / fastest peer and contestant / kernel floor (lower is better)."
  echo
  echo "| contestant | n | attach median | attach p99 | attach ×peer | attach ×floor | detach median | detach p99 | detach ×peer | detach ×floor |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${CONTESTANTS[@]}"; do
    echo "| $(label "$c") | ${N[$c.attach]} | ${MED[$c.attach]} | ${P99[$c.attach]} | $(ratio "${MED[$c.attach]}" "${MED[$FA.attach]}") | $(ratio "${MED[$c.attach]}" "${MED[floor.attach]}") | ${MED[$c.detach]} | ${P99[$c.detach]} | $(ratio "${MED[$c.detach]}" "${MED[$FD.detach]}") | $(ratio "${MED[$c.detach]}" "${MED[floor.detach]}") |"
  done
} > "$MD"
{
  echo "contestant,op,n,median_ms,p99_ms,mean_ms,ratio_fastest_peer,ratio_floor"
  for c in "${CONTESTANTS[@]}"; do
    for op in attach detach; do
      f=$FA; [ $op = detach ] && f=$FD
      read -r n med p99 mean < <(stats "$W/$c.out" $op)
      echo "$c,$op,$n,$med,$p99,$mean,$(ratio "$med" "${MED[$f.$op]}"),$(ratio "$med" "${MED[floor.$op]}")"
    done
  done
} > "$CSV"
cat "$MD"

# =============================== 2. network create / delete ===============================
# Berth (library per backend, CLI per call) against `ip` creating/deleting a bridge with its address
# (iproute2; includes one ~2 ms process start per call). The peers have no comparable step: netavark
# creates its bridge inside the first setup and deletes it in the last teardown; the CNI plugin never
# deletes it (see the README's Performance section for their figures).
NETC=(ip lib-ipt-net); [ "$NFT" = 1 ] && NETC+=(lib-nft-net); NETC+=(cli-net)
for c in "${NETC[@]}"; do
  ip netns add "$c-host"; : > "$W/$c.out"
  case $c in lib-ipt-net|cli-net) "$BERTH" network ls --state-dir "$W/$c" --host-netns "/run/netns/$c-host" >/dev/null ;;
             lib-nft-net) "$BERTH" network ls --backend nftables --state-dir "$W/$c" --host-netns "/run/netns/$c-host" >/dev/null ;; esac
done
NPER=$(( (NET_ITER + 1) / 2 ))
for r in 0 1; do
  for c in "${NETC[@]}"; do
    from=$((r * (NPER + 1))); to=$((from + NPER))
    case $c in
      ip) ip netns exec ip-host bash -c '
            for ((i = '$from'; i <= '$to'; i++)); do
              t0=${EPOCHREALTIME/./}
              printf "link add nb%d type bridge\naddr add 10.%d.%d.1/24 dev nb%d\nlink set nb%d up\n" $i $((100 + i / 256)) $((i % 256)) $i $i | ip -batch -
              t1=${EPOCHREALTIME/./}; ip link del nb$i; t2=${EPOCHREALTIME/./}
              echo "netcreate $i $((10#$t1 - 10#$t0))"; echo "netdelete $i $((10#$t2 - 10#$t1))"
            done' ;;
      lib-ipt-net) "$REL/BerthProbe" netloop "$W/$c" iptables "/run/netns/$c-host" "$from" "$to" ;;
      lib-nft-net) "$REL/BerthProbe" netloop "$W/$c" nftables "/run/netns/$c-host" "$from" "$to" ;;
      cli-net)
        for ((i = from; i <= to; i++)); do
          t0=${EPOCHREALTIME/./}
          "$BERTH" network create --state-dir "$W/$c" --host-netns "/run/netns/$c-host" --subnet "10.$((100 + i / 256)).$((i % 256)).0/24" "nl$i" >/dev/null
          t1=${EPOCHREALTIME/./}
          "$BERTH" network rm --state-dir "$W/$c" --host-netns "/run/netns/$c-host" "nl$i" >/dev/null
          t2=${EPOCHREALTIME/./}
          echo "netcreate $i $((10#$t1 - 10#$t0))"; echo "netdelete $i $((10#$t2 - 10#$t1))"
        done ;;
    esac | grep -v '^open' | awk -v f="$from" '$2 != f' >> "$W/$c.out"
    sleep 0.5
  done
done
{
  echo
  echo "### Network create + delete (empty network; $((NPER * 2)) per contestant, 2 interleaved rounds)"
  echo
  echo "| contestant | create median | create p99 | create ×ip | delete median | delete p99 | delete ×ip |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  read -r _ ipc _ _ < <(stats "$W/ip.out" netcreate); read -r _ ipd _ _ < <(stats "$W/ip.out" netdelete)
  for c in "${NETC[@]}"; do
    read -r _ cm cp _ < <(stats "$W/$c.out" netcreate); read -r _ dm dp _ < <(stats "$W/$c.out" netdelete)
    echo "| $(label "$c") | $cm | $cp | $(ratio "$cm" "$ipc") | $dm | $dp | $(ratio "$dm" "$ipd") |"
    echo "$c,netcreate,,$cm,$cp,,,$(ratio "$cm" "$ipc")" >> "$CSV"
    echo "$c,netdelete,,$dm,$dp,,,$(ratio "$dm" "$ipd")" >> "$CSV"
  done
} | tee -a "$MD"

# =============================== 3. scale ===============================
if [ -n "${SKIP_SCALE:-}" ]; then log "scale run skipped (SKIP_SCALE)"; exit 0; fi
SC=(scale-ipt); [ "$NFT" = 1 ] && SC+=(scale-nft); SC+=(scale-netavark scale-cni)
scale_run() {
  local c=$1 n=$SCALE i
  case $c in scale-netavark|scale-cni) n=$PEER_SCALE;; esac
  log "scale: $c, $n sandboxes across $SCALE_NETS networks"
  ip netns add "$c-host"; ip -n "$c-host" link set lo up
  for ((i = 0; i < n; i++)); do ip netns add "$c-sb$i"; done
  : > "$W/$c.out"
  case $c in
    scale-ipt|scale-nft)
      local be=iptables; [ $c = scale-nft ] && be=nftables
      "$REL/BerthProbe" scale-attach "$W/$c" $be "/run/netns/$c-host" "$SCALE_NETS" "$c-sb" "$n" >> "$W/$c.out"
      "$REL/BerthProbe" open-rss "$W/$c" $be "/run/netns/$c-host" | sed 's/^/reopen-/' >> "$W/$c.out"
      "$REL/BerthProbe" scale-detach "$W/$c" $be "/run/netns/$c-host" "$c-sb" "$n" | grep -v '^open' >> "$W/$c.out" ;;
    scale-netavark)
      mkdir -p "$W/nvscale"
      for ((i = 0; i < n; i++)); do
        netavark_opts $((i % SCALE_NETS)) "10.$((90 + i % SCALE_NETS)).$((i / SCALE_NETS / 250)).$((2 + i / SCALE_NETS % 250))" > "$W/nvs-$i.json"
      done
      ip netns exec "$c-host" bash -c '
        for ((i = 0; i < '$n'; i++)); do
          t0=${EPOCHREALTIME/./}; "$NETAVARK" --config "$W/nvscale" setup /run/netns/'$c'-sb$i < "$W/nvs-$i.json" >/dev/null
          echo "attach $i $((${EPOCHREALTIME/./} - 10#$t0))"; done' >> "$W/$c.out"
      ip netns exec "$c-host" bash -c '
        for ((i = 0; i < '$n'; i++)); do
          t0=${EPOCHREALTIME/./}; "$NETAVARK" --config "$W/nvscale" teardown /run/netns/'$c'-sb$i < "$W/nvs-$i.json" >/dev/null
          echo "detach $i $((${EPOCHREALTIME/./} - 10#$t0))"; done' >> "$W/$c.out" ;;
    scale-cni)
      for ((k = 0; k < SCALE_NETS; k++)); do cni_conf $k | sed "s#/cni-ipam#/cni-scale-ipam#" > "$W/cnis$k.json"; done
      ip netns exec "$c-host" bash -c '
        for ((i = 0; i < '$n'; i++)); do
          t0=${EPOCHREALTIME/./}
          CNI_COMMAND=ADD CNI_CONTAINERID=s$i CNI_NETNS=/run/netns/'$c'-sb$i CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR "$CNI_DIR/bridge" < "$W/cnis$((i % '$SCALE_NETS')).json" >/dev/null
          echo "attach $i $((${EPOCHREALTIME/./} - 10#$t0))"; done' >> "$W/$c.out"
      ip netns exec "$c-host" bash -c '
        for ((i = 0; i < '$n'; i++)); do
          t0=${EPOCHREALTIME/./}
          CNI_COMMAND=DEL CNI_CONTAINERID=s$i CNI_NETNS=/run/netns/'$c'-sb$i CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR "$CNI_DIR/bridge" < "$W/cnis$((i % '$SCALE_NETS')).json" >/dev/null
          echo "detach $i $((${EPOCHREALTIME/./} - 10#$t0))"; done' >> "$W/$c.out" ;;
  esac
  for ((i = 0; i < n; i++)); do ip netns del "$c-sb$i"; done
  ip netns del "$c-host"
  sleep 2
}
# bucket FILE OP FIRST LAST -> median ms of OP for indices FIRST..LAST
bucket() {
  awk -v op="$2" -v a="$3" -v b="$4" '$1==op && $2>=a && $2<=b {print $3/1000}' "$1" | sort -g | awk '
    {v[NR]=$1} END { if (NR==0) { print "-"; exit } m=int(NR*0.5); if (m<NR*0.5) m++; printf "%.3f\n", v[m] }'
}
field() { awk -v op="$2" '$1==op {print $3; exit}' "$1"; }
for c in "${SC[@]}"; do scale_run "$c"; done
{
  echo
  echo "### Scale: sandboxes attached one after another across $SCALE_NETS networks, then detached in the same order"
  echo
  echo "Per-operation median (ms) of the first and the last hundred, and the total (s, sum of the per-operation times)."
  echo
  echo "| contestant | sandboxes | attach first 100 | attach last 100 | attach total s | detach first 100 | detach last 100 | detach total s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${SC[@]}"; do
    n=$(awk '$1=="attach"' "$W/$c.out" | wc -l)
    case $c in scale-ipt) l="Berth library (iptables)";; scale-nft) l="Berth library (nftables)";;
               scale-netavark) l="netavark 1.4";; scale-cni) l="CNI bridge 1.1.1";; esac
    fa=$(bucket "$W/$c.out" attach 0 99); la=$(bucket "$W/$c.out" attach $((n - 100)) $((n - 1)))
    fd=$(bucket "$W/$c.out" detach 0 99); ld=$(bucket "$W/$c.out" detach $((n - 100)) $((n - 1)))
    ta=$(awk '$1=="attach"{s+=$3} END{printf "%.1f", s/1e6}' "$W/$c.out")
    td=$(awk '$1=="detach"{s+=$3} END{printf "%.1f", s/1e6}' "$W/$c.out")
    echo "| $l | $n | $fa | $la | $ta | $fd | $ld | $td |"
    echo "$c,scale,$n,attach_first100=$fa,attach_last100=$la,attach_total_s=$ta,detach_first100=$fd,detach_last100=$ld,detach_total_s=$td" >> "$RESULTS/compare-peers-scale.csv.tmp"
  done
  for c in scale-ipt scale-nft; do
    [ -f "$W/$c.out" ] || continue
    echo
    echo "$c: controller open with $(field "$W/$c.out" reopen-endpoints) endpoints $(awk -v t="$(field "$W/$c.out" reopen-open)" 'BEGIN{printf "%.1f", t/1000}') ms," \
         "RSS $(awk -v k="$(field "$W/$c.out" reopen-rss)" 'BEGIN{printf "%.1f", k/1024}') MiB (peak $(awk -v k="$(field "$W/$c.out" reopen-hwm)" 'BEGIN{printf "%.1f", k/1024}') MiB);" \
         "the process that attached them: RSS $(awk -v k="$(field "$W/$c.out" rss)" 'BEGIN{printf "%.1f", k/1024}') MiB, peak $(awk -v k="$(field "$W/$c.out" hwm)" 'BEGIN{printf "%.1f", k/1024}') MiB."
  done
} | tee -a "$MD"
mv "$RESULTS/compare-peers-scale.csv.tmp" "$RESULTS/compare-peers-scale.csv"
for c in "${CONTESTANTS[@]}" "${SC[@]}"; do cp "$W/$c.out" "$RESULTS/raw-$c.txt" 2>/dev/null || true; done
log "wrote $MD, $CSV, $RESULTS/compare-peers-scale.csv"
