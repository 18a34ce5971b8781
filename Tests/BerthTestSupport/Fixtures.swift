@_spi(BerthInternal) import BerthNetlink

/// Test data written as text: addresses and subnets that are known to be valid.
package enum Fixtures {
    package static func subnet(_ text: String) -> IPv4Subnet {
        guard let s = IPv4Subnet(text) else { fatalError("bad subnet \(text)") }
        return s
    }

    package static func address(_ text: String) -> IPv4Address {
        guard let a = IPv4Address(text) else { fatalError("bad address \(text)") }
        return a
    }
}
