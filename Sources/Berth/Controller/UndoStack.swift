@_spi(BerthInternal) import BerthNamespace

/// The undo steps of one multi-step operation, run in reverse when a later step fails, so a failed
/// create or attach leaves no link, rule, lease or record behind.
struct UndoStack {
    private var steps: [(operation: OperationName, object: String, step: () throws -> Void)] = []

    /// Adds a step that undoes something just created: `operation` on `object` names it in a
    /// rollback failure, e.g. `.deleteVeth`, `"vethab12cd3"`.
    mutating func push(_ operation: OperationName, _ object: String, _ step: @escaping () throws -> Void) {
        steps.append((operation, object, step))
    }

    /// Runs every step, newest first, and returns the failures of the steps that failed, in the
    /// order they ran.
    @discardableResult
    mutating func rollBack() -> [BerthError] {
        var failures: [BerthError] = []
        while let (operation, object, step) = steps.popLast() {
            do { try step() } catch { failures.append(BerthError.wrap(error, operation: operation, object: object)) }
        }
        return failures
    }

    /// Forgets the steps once the operation has succeeded.
    mutating func commit() { steps.removeAll() }
}

/// A failure of a multi-step operation whose rollback also failed: `BerthError.wrap` turns it into
/// the façade error of `error` with `failures` as its `rollbackFailures`.
struct RolledBack: Error {
    let error: any Error
    let failures: [BerthError]

    /// `error` itself when the rollback was clean, else the two together.
    static func combining(_ error: any Error, _ failures: [BerthError]) -> any Error {
        failures.isEmpty ? error : RolledBack(error: error, failures: failures)
    }
}
