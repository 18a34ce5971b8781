@testable import Berth
import Testing

/// Random identifiers: exact length, lowercase hex, no repeats; a MAC with Docker's 02:42 prefix.
/// (One 64-bit draw per 16 characters: an attach made about a hundred getrandom calls before.)
@Suite("Random identifiers")
struct RandomIDTests {
    @Test(arguments: [0, 1, 7, 12, 15, 16, 17, 64]) func hexHasTheLengthAndAlphabet(_ count: Int) {
        let id = RandomID.hex(count)
        #expect(id.count == count)
        #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func idsDoNotRepeatAndUseEveryDigit() {
        let ids = (0..<1000).map { _ in RandomID.hex(64) }
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids.joined()).count == 16)
    }

    @Test func bridgeMACIsDockers() {
        let mac = RandomID.bridgeMAC()
        #expect(mac.count == 6 && mac[0] == 0x02 && mac[1] == 0x42)
        #expect(Set((0..<100).map { _ in RandomID.bridgeMAC() }).count > 90)
    }
}
