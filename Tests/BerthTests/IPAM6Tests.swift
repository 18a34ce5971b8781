@_spi(BerthInternal) import BerthNamespace
@testable import Berth
@_spi(BerthInternal) import BerthNetlink
import Testing

/// IPv6 IPAM (issue 15), pure: Docker 20.10's order (`::` reserved, gateway `::1`, endpoints from
/// `::2`), huge subnets never enumerated, the v6 subnet rules.
@Suite("IPv6 IPAM (no privileges)")
struct IPAM6Tests {
    let subnet = IPv6Subnet("fd00:1::/64")!

    private func a(_ text: String) -> IPv6Address { IPv6Address(text)! }

    @Test func parsesAndCanonicalises() {
        #expect(IPv6Subnet("fd00:1::5/64")?.canonical.description == "fd00:1::/64")
        #expect(IPv6Subnet("fd00:1::/129") == nil)
        #expect(IPv6Subnet("10.0.0.0/8") == nil)
        #expect(IPv6Subnet("fd00::/064") == nil)
        #expect(IPv6Subnet("fd00::") == nil)
        #expect(IPv6Address(UInt128(1)).description == "::1")
        #expect(a("fd00::1") < a("fd00::2"))
        #expect(subnet.last.description == "fd00:1::ffff:ffff:ffff:ffff")
        #expect(subnet.overlaps(IPv6Subnet("fd00:1::/48")!))
        #expect(!subnet.overlaps(IPv6Subnet("fd00:2::/64")!))
    }

    @Test func gatewayThenLowestFree() throws {
        let gw = AddressAllocator6.defaultGateway(of: subnet)
        #expect(gw.description == "fd00:1::1")
        let alloc = AddressAllocator6(subnet: subnet, gateway: gw)
        #expect(try alloc.allocate(used: [], operation: .test, object: "t").description == "fd00:1::2")
        #expect(try alloc.allocate(used: [a("fd00:1::2"), a("fd00:1::4")], operation: .test, object: "t").description == "fd00:1::3")
        // A gateway elsewhere frees ::1 (only the first address is reserved).
        let other = AddressAllocator6(subnet: subnet, gateway: a("fd00:1::ff"))
        #expect(try other.allocate(used: [], operation: .test, object: "t").description == "fd00:1::1")
    }

    @Test func hugeSubnetsAreNotEnumerated() throws {
        // 10,000 used addresses of a /48: found by walking them, not 2^80 candidates.
        let big = IPv6Subnet("fd00:2::/48")!
        let alloc = AddressAllocator6(subnet: big, gateway: AddressAllocator6.defaultGateway(of: big))
        let used = Set((2..<10_002).map { IPv6Address(big.network.value + UInt128($0)) })
        #expect(try alloc.allocate(used: used, operation: .test, object: "t") == IPv6Address(big.network.value + 10_002))
    }

    @Test func rangeAndExhaustion() throws {
        let alloc = AddressAllocator6(subnet: subnet, gateway: a("fd00:1::1"), range: IPv6Subnet("fd00:1::ff00/126")!)
        var used: Set<IPv6Address> = []
        for _ in 0..<4 { used.insert(try alloc.allocate(used: used, operation: .test, object: "t")) }
        #expect(used.map(\.description).sorted() == ["fd00:1::ff00", "fd00:1::ff01", "fd00:1::ff02", "fd00:1::ff03"])
        #expect(throws: BerthError.self) { try alloc.allocate(used: used, operation: .test, object: "t") }
        let tiny = AddressAllocator6(subnet: IPv6Subnet("fd00:3::/126")!, gateway: a("fd00:3::1"))
        #expect(try tiny.allocate(used: [a("fd00:3::2")], operation: .test, object: "t").description == "fd00:3::3")
        #expect(throws: BerthError.self) { try tiny.allocate(used: [a("fd00:3::2"), a("fd00:3::3")], operation: .test, object: "t") }
    }

    @Test func staticAddresses() throws {
        let alloc = AddressAllocator6(subnet: subnet, gateway: a("fd00:1::1"))
        try alloc.reserve(a("fd00:1::abcd"), used: [], operation: .test, object: "t")
        for (bad, code) in [("fd00:1::", BerthError.Code.addressOutsideSubnet), ("fd00:2::5", .addressOutsideSubnet),
                            ("fd00:1::1", .addressInUse), ("fd00:1::7", .addressInUse)] {
            let error = #expect(throws: BerthError.self) { try alloc.reserve(a(bad), used: [a("fd00:1::7")], operation: .test, object: "t") }
            #expect(error?.code == code)
        }
    }

    @Test func macDerivedAsDocker() {
        let mac = MACAddress("02:42:ac:11:00:02")!
        #expect(AddressAllocator6.macDerived(prefix: IPv6Subnet("2001:db8:1::/64")!, mac: mac)?.description == "2001:db8:1::242:ac11:2")
        #expect(AddressAllocator6.macDerived(prefix: IPv6Subnet("2001:db8:1::/81")!, mac: mac) == nil)
    }

    @Test(arguments: ["fd00::/127", "fd00::/128", "ff02::/16", "fe80::/64", "fe80:0:0:1::/64", "::ffff:0:0/96", "::/0", "fc00::/6"])
    func refusedSubnets(_ text: String) {
        let s = IPv6Subnet(text)!
        let error = #expect(throws: BerthError.self) { try AddressAllocator6.checkSubnet(s, operation: .test, object: "n") }
        #expect(error?.code == .invalidArgument)
    }

    @Test(arguments: ["fd00:1::/64", "2001:db8::/32", "fd00::/126"])
    func acceptedSubnets(_ text: String) throws {
        try AddressAllocator6.checkSubnet(IPv6Subnet(text)!, operation: .test, object: "n")
    }
}
