#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A process that owns a sandbox (`berth run`): its pid and its start time, so a pid reused by
/// another process after a crash is not taken for the owner.
public struct ProcessOwner: Sendable, Codable, Equatable, Hashable {
    public var pid: Int32
    /// Field 22 of `/proc/PID/stat`: clock ticks after boot at which the process started.
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The running process `pid` (its start time read now), or nil when there is none.
    public static func of(_ pid: Int32) -> ProcessOwner? {
        startTime(of: pid).map { ProcessOwner(pid: pid, startTime: $0) }
    }

    /// This process.
    public static func current() -> ProcessOwner? {
        let pid = getpid()
        return startTime(of: pid).map { ProcessOwner(pid: pid, startTime: $0) }
    }

    /// True while the process exists with the same start time (a zombie counts as gone).
    public var isAlive: Bool {
        guard let stat = Self.statFields(of: pid) else { return false }
        return stat.state != "Z" && stat.start == startTime
    }

    static func startTime(of pid: Int32) -> UInt64? { statFields(of: pid)?.start }

    /// State letter and start time from `/proc/PID/stat` (fields 3 and 22; the command name in
    /// parentheses may hold spaces, so fields are counted after the last `)`).
    private static func statFields(of pid: Int32) -> (state: Character, start: UInt64)? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 is fields[19].
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }
}
