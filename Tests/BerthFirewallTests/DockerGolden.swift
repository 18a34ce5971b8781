import Foundation

/// The golden dumps of real Docker 20.10 (`../shared/golden/docker-20.10/`, beside the checkout),
/// read at test time: one copy of the reference, never a second one in the sources.
enum DockerGolden {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/golden/docker-20.10")

    /// The file's text without its final newline; a missing file is a test failure with its path.
    static func file(_ name: String) -> String {
        let url = directory.appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            return "missing golden file \(url.path)"
        }
        return text.trimmingCharacters(in: .newlines)
    }

    static var aStartSave: String { file("docker-a-start.iptables-save.txt") }
    static var bNetcreateS: String { file("docker-b-netcreate.iptables-S.txt") }
    static var bNetcreateNatS: String { file("docker-b-netcreate.iptables-nat-S.txt") }
    static var bNetcreateSave: String { file("docker-b-netcreate.iptables-save.txt") }
    static var cContainersSave: String { file("docker-c-containers.iptables-save.txt") }
    static var cContainersS: String { file("docker-c-containers.iptables-S.txt") }
    static var cContainersNatS: String { file("docker-c-containers.iptables-nat-S.txt") }
    static var dNetrmSave: String { file("docker-d-netrm.iptables-save.txt") }
}
