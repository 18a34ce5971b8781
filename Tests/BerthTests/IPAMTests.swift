@_spi(BerthInternal) import BerthNamespace
@testable import Berth
@_spi(BerthInternal) import BerthNetlink
import Testing

@Suite("IPAM (no privileges)")
struct IPAMTests {
    let subnet = IPv4Subnet("172.18.0.0/16")!
    let gateway = IPv4Address("172.18.0.1")!

    @Test func lowestFreeFirstSkippingNetworkAndGateway() throws {
        let a = AddressAllocator(subnet: subnet, gateway: gateway)
        #expect(try a.allocate(used: [], operation: .test, object: "t").description == "172.18.0.2")
        let used: Set = [IPv4Address("172.18.0.2")!, IPv4Address("172.18.0.4")!]
        #expect(try a.allocate(used: used, operation: .test, object: "t").description == "172.18.0.3")
    }

    @Test func releaseThenReuse() throws {
        let a = AddressAllocator(subnet: subnet, gateway: gateway)
        var used: Set<IPv4Address> = []
        for _ in 0..<3 { used.insert(try a.allocate(used: used, operation: .test, object: "t")) }
        used.remove(IPv4Address("172.18.0.3")!)
        #expect(try a.allocate(used: used, operation: .test, object: "t").description == "172.18.0.3")
    }

    @Test(arguments: [
        ("10.0.0.0/30", "10.0.0.1", ["10.0.0.2"]),          // .0 network, .1 gateway, .3 broadcast
        ("10.0.0.0/29", "10.0.0.6", ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]),
    ])
    func exhaustionNeverHandsOutNetworkGatewayOrBroadcast(cidr: String, gw: String, expected: [String]) throws {
        let a = AddressAllocator(subnet: IPv4Subnet(cidr)!, gateway: IPv4Address(gw)!)
        var used: Set<IPv4Address> = []
        var order: [String] = []
        while let next = try? a.allocate(used: used, operation: .test, object: "t") {
            used.insert(next)
            order.append(next.description)
        }
        #expect(order == expected)
        #expect { try a.allocate(used: used, operation: .attach, object: "n") } throws: {
            ($0 as? BerthError)?.code == .addressesExhausted
        }
    }

    @Test func ipRangeLimitsDynamicButNotStatic() throws {
        // As Docker's IPAM: inside the range every address is usable except the subnet's own
        // network, broadcast and gateway (so a /24 range of a /16 starts at its .0).
        let a = AddressAllocator(subnet: subnet, gateway: gateway, range: IPv4Subnet("172.18.5.0/24"))
        #expect(try a.allocate(used: [], operation: .test, object: "t").description == "172.18.5.0")
        #expect(throws: Never.self) { try a.reserve(IPv4Address("172.18.9.9")!, used: [], operation: .test, object: "t") }
        let tiny = AddressAllocator(subnet: subnet, gateway: gateway, range: IPv4Subnet("172.18.5.0/30"))
        var used: Set<IPv4Address> = []
        for _ in 0..<4 { used.insert(try tiny.allocate(used: used, operation: .test, object: "t")) }
        #expect(used.map(\.description).sorted() == ["172.18.5.0", "172.18.5.1", "172.18.5.2", "172.18.5.3"])
        #expect { try tiny.allocate(used: used, operation: .test, object: "t") } throws: { ($0 as? BerthError)?.code == .addressesExhausted }
        // A range at the start of the subnet still skips the network address and the gateway.
        let low = AddressAllocator(subnet: subnet, gateway: gateway, range: IPv4Subnet("172.18.0.0/30"))
        #expect(try low.allocate(used: [], operation: .test, object: "t").description == "172.18.0.2")
    }

    @Test func staticAddressChecks() {
        let a = AddressAllocator(subnet: subnet, gateway: gateway)
        let used: Set = [IPv4Address("172.18.0.2")!]
        for (text, code) in [("172.18.0.2", BerthError.Code.addressInUse), ("172.18.0.1", .addressInUse),
                             ("172.19.0.2", .addressOutsideSubnet), ("172.18.0.0", .addressOutsideSubnet),
                             ("172.18.255.255", .addressOutsideSubnet)] {
            #expect { try a.reserve(IPv4Address(text)!, used: used, operation: .test, object: "t") } throws: {
                ($0 as? BerthError)?.code == code
            }
        }
    }

    @Test func subnetChoiceFollowsDockerPools() {
        #expect(SubnetPools.candidates.count == 31)
        #expect(SubnetPools.candidates.first?.description == "172.17.0.0/16")
        #expect(SubnetPools.candidates[15].description == "192.168.0.0/20")
        #expect(SubnetPools.firstFree(avoiding: [IPv4Subnet("172.17.0.0/16")!])?.description == "172.18.0.0/16")
        // A host route inside 172.18/16 makes it skipped.
        #expect(SubnetPools.firstFree(avoiding: [IPv4Subnet("172.17.0.0/16")!, IPv4Subnet("172.18.3.0/24")!])?.description == "172.19.0.0/16")
        // All /16s taken → 192.168.0.0/20; a 192.168.0.0/24 route pushes it to .16.0/20.
        let all16 = SubnetPools.candidates.prefix(15).map { $0 }
        #expect(SubnetPools.firstFree(avoiding: all16)?.description == "192.168.0.0/20")
        #expect(SubnetPools.firstFree(avoiding: all16 + [IPv4Subnet("192.168.0.0/24")!])?.description == "192.168.16.0/20")
        #expect(SubnetPools.firstFree(avoiding: [IPv4Subnet("0.0.0.0/0")!]) == nil)
    }

    @Test(arguments: ["test1", "a", "A.b_c-d", "9net"]) func validNetworkNames(_ n: String) {
        #expect(NetworkController.isValidNetworkName(n))
    }

    @Test(arguments: ["", "-x", ".x", "_x", "a b", "a/b", "ä", "x:y"]) func invalidNetworkNames(_ n: String) {
        #expect(!NetworkController.isValidNetworkName(n))
    }
}

@Suite("IPAM start index (no privileges)")
struct PoolRotationTests {
    let docker0 = IPv4Subnet("172.17.0.0/16")!

    @Test func continuesAfterTheLastPick() throws {
        let first = try #require(SubnetPools.rotating(startIndex: 0, networks: [docker0], routes: []))
        #expect(first.subnet.description == "172.18.0.0/16" && first.nextStart == 2)
        // 172.18 freed again: the next pick still moves on.
        let second = try #require(SubnetPools.rotating(startIndex: first.nextStart, networks: [docker0], routes: []))
        #expect(second.subnet.description == "172.19.0.0/16" && second.nextStart == 3)
    }

    @Test func wrapsToTheStartOfTheList() throws {
        let last = SubnetPools.candidates.count - 1
        let pick = try #require(SubnetPools.rotating(startIndex: last, networks: [docker0], routes: []))
        #expect(pick.subnet.description == "192.168.240.0/20" && pick.nextStart == 0)
        let wrapped = try #require(SubnetPools.rotating(startIndex: pick.nextStart, networks: [docker0, pick.subnet], routes: []))
        #expect(wrapped.subnet.description == "172.18.0.0/16" && wrapped.nextStart == 2)
    }

    @Test func aHostRouteIsSkippedAndMovesTheIndex() throws {
        let pick = try #require(SubnetPools.rotating(startIndex: 2, networks: [docker0], routes: [IPv4Subnet("172.19.3.0/24")!]))
        #expect(pick.subnet.description == "172.20.0.0/16" && pick.nextStart == 4)
        #expect(SubnetPools.rotating(startIndex: 0, networks: [IPv4Subnet("0.0.0.0/0")!], routes: []) == nil)
        #expect(SubnetPools.rotating(startIndex: 99, networks: [docker0], routes: [])?.subnet.description == "172.18.0.0/16")
    }
}
