import ArgumentParser
import Berth
#if canImport(Glibc)
import Glibc
#endif

/// Maps Berth's typed errors to one stderr line and a distinct exit code per class:
/// 1 system, 3 not found, 4 conflict, 5 permission, 64 usage / invalid input.
enum Failure {
    static func exitCode(for code: BerthError.Code) -> Int32 {
        switch code {
        case .networkNotFound, .endpointNotFound, .sandboxNotFound: 3
        case .duplicateName, .subnetOverlap, .interfaceInUse, .addressInUse, .hasActiveEndpoints, .predefinedNetwork,
             .portAllocated, .addressesExhausted, .subnetsExhausted, .stateConflict, .tapBusy, .tapFlagMismatch: 4
        case .permissionDenied: 5
        case .invalidName, .invalidInterfaceName, .invalidArgument, .gatewayOutsideSubnet, .ipRangeOutsideSubnet,
             .addressOutsideSubnet, .notANetworkNamespace: 64
        case .state, .system, .multiple, .tunUnavailable, .ipv6Unavailable: 1
        }
    }

    /// Runs `body`; a `BerthError` becomes `berth: <description>` on stderr and its exit code.
    static func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as BerthError {
            FileHandleOutput.stderr("berth: \(error)")
            throw ExitCode(exitCode(for: error.code))
        }
    }
}

enum FileHandleOutput {
    /// Writes `line` and a newline to stderr as one line (`oneLine`).
    static func stderr(_ line: String) {
        let bytes = Array((oneLine(line) + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// `text` with its control characters escaped (`\n`, `\t`, `\u{1b}`…), so a name holding a
    /// newline cannot make an error message span lines or forge a second one (new-user trial).
    static func oneLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0..<0x20, 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
