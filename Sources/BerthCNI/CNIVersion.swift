/// The CNI versions Berth speaks (CNI spec 1.1, "Version considerations"): a result is written in
/// the version of the request; 0.3.x and 0.4.0 results carry `ips[].version`, 1.x results do not.
public struct CNIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int, minor: Int, patch: Int

    /// The versions accepted on stdin and listed by VERSION.
    public static let supported: [CNIVersion] = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"].compactMap(CNIVersion.init)
    /// The newest supported version (what VERSION and errors answer when the request names none).
    public static let current = CNIVersion(major: 1, minor: 1, patch: 0)
    /// The first version with CHECK (spec 0.4.0).
    public static let withCheck = CNIVersion(major: 0, minor: 4, patch: 0)
    /// The first version with STATUS and GC (spec 1.1.0).
    public static let withStatusAndGC = CNIVersion(major: 1, minor: 1, patch: 0)

    init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `MAJOR.MINOR.PATCH` (semver, as the spec's `cniVersion`); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
              let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2]) else { return nil }
        (major, minor, patch) = (a, b, c)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    /// 0.3.x and 0.4.0 results name each address's IP version (`"version":"4"`).
    public var resultsCarryIPVersion: Bool { major == 0 }

    public static func < (a: CNIVersion, b: CNIVersion) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }

    /// The `cniVersion` of a request, checked against `supported`.
    /// - Throws: code 1 (incompatible version) for an unsupported version, code 7 for a missing
    ///   or non-string `cniVersion`.
    public static func of(_ config: CNIJSON) throws(CNIError) -> CNIVersion {
        guard let value = config["cniVersion"] else { throw CNIError(.invalidConfig, "network config lacks cniVersion") }
        guard case .string(let text) = value else {
            throw CNIError(.invalidConfig, "cniVersion must be a string, not \(value.typeName)")
        }
        guard let v = CNIVersion(text), supported.contains(v) else {
            throw CNIError(.incompatibleVersion, "incompatible CNI versions: config is \"\(text)\", plugin supports "
                                + supported.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        return v
    }
}
