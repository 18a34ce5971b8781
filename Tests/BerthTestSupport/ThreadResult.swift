import Foundation

/// A one-shot value handed from a thread to the test (e.g. a thread that dropped a capability).
package final class ThreadResult: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: String?

    package init() {}

    package func set(_ v: String) { condition.lock(); value = v; condition.signal(); condition.unlock() }

    /// The value, waiting at most 10 s for it.
    package func wait() -> String? {
        condition.lock(); defer { condition.unlock() }
        while value == nil { if !condition.wait(until: Date().addingTimeInterval(10)) { break } }
        return value
    }
}
