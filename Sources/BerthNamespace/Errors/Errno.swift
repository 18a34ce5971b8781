#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX error number reported by a failing system call (never 0).
///
/// Read it with `Errno.current` on the line right after the failing call, before any other call
/// can overwrite the thread's `errno`. Errors carry `Errno?`: nil when the failure is Berth's own
/// (a validation, a malformed reply), never an invented value.
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The positive errno value, e.g. `EEXIST` (17).
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ value: Int32) { self.rawValue = value }
    public init(integerLiteral value: Int32) { self.rawValue = value }

    /// The calling thread's `errno` now. Read it immediately after the call that failed.
    public static var current: Errno { Errno(errno) }

    /// `value` as an Errno, nil for 0 (for APIs that return the error number, 0 meaning success).
    public static func nonZero(_ value: Int32) -> Errno? { value == 0 ? nil : Errno(value) }

    /// `strerror(3)`'s text, e.g. `"File exists"`.
    public var description: String { String(cString: strerror(rawValue)) }
}

extension Optional where Wrapped == Errno {
    /// The errno as C reports it: its value, or 0 when there is none.
    package var code: Int32 { self?.rawValue ?? 0 }
}
