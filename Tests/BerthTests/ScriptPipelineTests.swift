import Foundation
import Testing

/// Regression (stop 19's red CI): under `set -o pipefail`, `producer | grep -q PATTERN` fails at
/// random. grep leaves at its first match; a producer that writes in pieces (podman writes
/// "bnet1", " ", "berth", "\n" as four writes) dies of SIGPIPE on its next write, and the pipeline
/// reports failure although the line was there. The project's scripts read the whole output first
/// (`has` in scripts/cni-runtimes.sh, `grep -q … <<<"$(…)"`, `[[ $(…) == *…* ]]`).
@Suite("Shell scripts: no producer piped into grep -q")
struct ScriptPipelineTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Every shell script the project runs: scripts/, Benchmarks/ and the CI entry point.
    static func scripts() throws -> [URL] {
        let fm = FileManager.default
        var found = [repository.appendingPathComponent(".ci/run")]
        for folder in ["scripts", "Benchmarks"] {
            let dir = repository.appendingPathComponent(folder)
            for name in try fm.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".sh") {
                found.append(dir.appendingPathComponent(name))
            }
        }
        return found
    }

    @Test("no `| grep -q` in a pipeline of any script")
    func noEarlyExitGrepInPipelines() throws {
        let pattern = try Regex(#"\|\s*grep\b[^|;&]*\s-[A-Za-z]*q"#)
        let files = try Self.scripts()
        #expect(files.count > 10, "found only \(files.map(\.lastPathComponent))")
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("#") { continue }
                if code.contains(pattern) { offenders.append("\(file.lastPathComponent):\(number + 1): \(code)") }
            }
        }
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
