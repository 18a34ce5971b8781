/// Random identifiers as Docker makes them.
enum RandomID {
    /// `count` lowercase hex characters from the system generator: one 64-bit draw (one
    /// getrandom(2)) per 16 characters, not one per character.
    static func hex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            var word = generator.next()
            for _ in 0..<min(16, count - out.count) {
                out.append(digits[Int(word & 0xF)])
                word >>= 4
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A locally administered unicast MAC with Docker's 02:42 prefix and 4 random bytes.
    static func bridgeMAC() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let word = generator.next()
        return [0x02, 0x42] + (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
    }
}
