/// A CNI error result (CNI spec 1.1, "Error"): printed on stdout as
/// `{"cniVersion":…,"code":N,"msg":…,"details":…}`, and the plugin exits non-zero.
public struct CNIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec's well-known codes (0–99), and Berth's own (100+, "plugin-specific").
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// 1: incompatible CNI version.
        public static let incompatibleVersion = Code(rawValue: 1)
        /// 2: unsupported field in network configuration (the message names it).
        public static let unsupportedField = Code(rawValue: 2)
        /// 3: container unknown or does not exist.
        public static let unknownContainer = Code(rawValue: 3)
        /// 4: invalid necessary environment variables (CNI_COMMAND, CNI_IFNAME, CNI_NETNS, CNI_ARGS…).
        public static let invalidEnvironment = Code(rawValue: 4)
        /// 5: I/O failure (the state directory).
        public static let ioFailure = Code(rawValue: 5)
        /// 6: failed to decode content (stdin not JSON).
        public static let decodingFailure = Code(rawValue: 6)
        /// 7: invalid network config (a key missing, of the wrong type, or a bad value).
        public static let invalidConfig = Code(rawValue: 7)
        /// 11: try again later (transient: no free address until an endpoint goes, a removal under way).
        public static let tryAgainLater = Code(rawValue: 11)
        /// 50: the plugin is not available (STATUS: an ADD cannot be serviced).
        public static let notAvailable = Code(rawValue: 50)
        /// 100: the kernel (netlink, firewall, namespace) refused an operation.
        public static let system = Code(rawValue: 100)
        /// 101: the interface name is already used in the container (ADD's "MUST return an error").
        public static let interfaceExists = Code(rawValue: 101)
        /// 102: the requested address or MAC is held by another attachment.
        public static let addressInUse = Code(rawValue: 102)
        /// 103: the host port is published by another attachment.
        public static let portAllocated = Code(rawValue: 103)
        /// 104: no CAP_NET_ADMIN, or the state directory is not writable.
        public static let permissionDenied = Code(rawValue: 104)
        /// 105: the state directory belongs to another firewall backend or host namespace.
        public static let stateConflict = Code(rawValue: 105)
        /// 106: CHECK found the attachment not as it was set up (the message says what).
        public static let checkFailed = Code(rawValue: 106)
    }

    public var code: Code
    public var msg: String
    public var details: String

    public init(_ code: Code, _ msg: String, details: String = "") {
        self.code = code
        self.msg = msg
        self.details = details
    }

    public var description: String { details.isEmpty ? msg : "\(msg): \(details)" }

    /// The error JSON for `cniVersion` (the request's, or the newest when it could not be read).
    public func json(cniVersion: String) -> CNIJSON {
        var o: [String: CNIJSON] = ["cniVersion": .string(cniVersion), "code": .number(Double(code.rawValue)), "msg": .string(msg)]
        if !details.isEmpty { o["details"] = .string(details) }
        return .object(o)
    }
}
