#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The start index of Docker's default address pools (SubnetPools.rotating), in
/// `<dir>/ipam.json` as `{"predefinedStartIndex": N}`. Docker keeps it in dockerd's memory; Berth
/// has no daemon, so the state directory carries it from one process to the next.
extension StateStore {
    private struct IPAMRecord: Codable {
        var predefinedStartIndex: Int
    }

    private var ipamPath: String { "\(directory)/ipam.json" }

    /// The recorded start index; 0 when none is recorded or the record does not decode.
    func poolStartIndex() -> Int {
        guard let data = FileManager.default.contents(atPath: ipamPath),
              let record = try? JSONDecoder().decode(IPAMRecord.self, from: data) else { return 0 }
        return record.predefinedStartIndex
    }

    /// Records the start index (temp file, fsync, rename; call with the exclusive lock held).
    /// - Throws: `.state` / `.permissionDenied` when the file cannot be written.
    func savePoolStartIndex(_ index: Int) throws(BerthError) {
        try write(IPAMRecord(predefinedStartIndex: index), toFile: ipamPath, syncDirectory: false)
    }
}
