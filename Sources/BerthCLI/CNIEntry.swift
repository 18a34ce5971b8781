import BerthCNI
#if canImport(Glibc)
import Glibc
#endif

/// The CNI plugin mode of the `berth` binary: when `CNI_COMMAND` is set, stdin is the network
/// configuration and stdout the result (`CNIPlugin`); no argument parsing.
enum CNIEntry {
    static func run() -> Never {
        var input: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n > 0 { input += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        var environment: [String: String] = [:]
        for name in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        let outcome = CNIPlugin.run(environment: environment, stdin: input)
        let bytes = Array(outcome.stdout.utf8) + (outcome.stdout.isEmpty ? [] : [0x0A])
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        exit(outcome.status)
    }
}
