import Foundation
import Glibc

/// The table of deliberate deviations, docs/oracle-deviations.md: rows
/// `| Dn | \`SCENARIO-GLOB\`, … | \`FACT-GLOB\` | reason |`. A difference between Docker and Berth
/// passes when a row's scenario glob and fact glob (fnmatch, `*` any text) both match it; any other
/// difference fails the oracle suite.
struct Deviation: Sendable {
    var id: String
    var scenarios: [String]
    var fact: String
    var reason: String

    func covers(scenario: String, key: String) -> Bool {
        scenarios.contains { fnmatch($0, scenario, 0) == 0 } && fnmatch(fact, key, 0) == 0
    }

    /// The rows of the table at `path`; throws when the file cannot be read or a row is malformed.
    static func load(_ path: String) throws -> [Deviation] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [Deviation] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| D") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4, cells[0].dropFirst().allSatisfy(\.isNumber) else { continue }
            let globs = cells[1].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
            let fact = cells[2].trimmingCharacters(in: CharacterSet(charactersIn: " `"))
            guard !globs.isEmpty, !fact.isEmpty, !cells[3].isEmpty else {
                throw DeviationTableError.malformed(String(line))
            }
            rows.append(Deviation(id: cells[0], scenarios: globs, fact: fact, reason: cells[3]))
        }
        return rows
    }
}

enum DeviationTableError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self { case .malformed(let l): "docs/oracle-deviations.md: malformed row: \(l)" }
    }
}
