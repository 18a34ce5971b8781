#!/usr/bin/env bash
# The public API check (no privileges, no sandbox needed): what a Swift user can name.
# - With `import Berth` alone, the types of the README compile (Tests/BerthAPITests does that too).
# - The wire layer is unreachable: each name below must fail to type-check, both through
#   `import Berth` and through the lower-layer modules imported directly without @_spi.
# Needs a debug build (`swift build --build-tests`, as scripts/test.sh does first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bin=$(swift build --show-bin-path)
args=(-I "$bin/Modules"
      -Xcc "-fmodule-map-file=$bin/CBerthShims.build/module.modulemap" -Xcc -ISources/CBerthShims/include
      -Xcc -fmodule-map-file=Sources/CMnl/module.modulemap -Xcc -fmodule-map-file=Sources/CNftnl/module.modulemap
      -Xcc -fmodule-map-file=Sources/CCap/module.modulemap)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() {  # check WHAT EXPECT(ok|refused) IMPORTS CODE
  printf '%b\n%s\n' "$3" "$4" > "$work/probe.swift"
  if swiftc -typecheck "${args[@]}" "$work/probe.swift" > "$work/out" 2>&1; then got=ok; else got=refused; fi
  if [ "$got" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL  $1 (expected $2, got $got)"; sed 's/^/      | /' "$work/out" | head -5; fi
}
check "README types with import Berth" ok "import Berth" \
  'let c = ControllerConfiguration(backend: .nftables); let s = IPv4Subnet("10.0.0.0/24"); let m = MACAddress("02:42:0a:00:00:02"); let p = PortMapping(hostPort: 80, containerPort: 80); let e: BerthError? = nil; let n: NetlinkError? = nil; let f: FirewallError? = nil; let ns: NamespaceError? = nil; let s6 = IPv6Subnet("fd00:1::/64"); let a6 = IPv6Address("fd00:1::2"); _ = (c, s, m, p, e, n, f, ns, s6, a6)'
for name in RTNL NetlinkSession NetlinkEngine NetlinkMessageBuilder NetlinkParser NetlinkTransport MnlSocket \
            NamespaceThread NetworkNamespace ProcessRunner Sysctl LinkRequest VethPeer NftChannel IptablesBackend \
            NftablesBackend FirewallBackend NetworkRules AddressAllocator AddressAllocator6 SubnetPools StateStore; do
  check "$name not reachable through import Berth" refused "import Berth" "let _ = $name.self"
  check "$name not reachable through the lower layers without @_spi" refused \
    "import Berth\nimport BerthNamespace\nimport BerthNetlink\nimport BerthFirewall" "let _ = $name.self"
done
echo "api: $pass passed, $fail failed"
[ "$fail" = 0 ]
