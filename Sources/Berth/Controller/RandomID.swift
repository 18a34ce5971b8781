/// Random identifiers as Docker makes them.
enum RandomID {
    /// `count` lowercase hex characters from the system generator.
    static func hex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// A locally administered unicast MAC with Docker's 02:42 prefix and 4 random bytes.
    static func bridgeMAC() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return [0x02, 0x42] + (0..<4).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }
}
