/// The undo steps of one multi-step operation, run in reverse when a later step fails, so a failed
/// create or attach leaves no link, rule, lease or record behind.
struct UndoStack {
    private var steps: [(String, () throws -> Void)] = []

    mutating func push(_ what: String, _ step: @escaping () throws -> Void) {
        steps.append((what, step))
    }

    /// Runs every step, newest first, and returns the descriptions of steps that failed.
    @discardableResult
    mutating func rollBack() -> [String] {
        var failures: [String] = []
        while let (what, step) = steps.popLast() {
            do { try step() } catch { failures.append("\(what): \(error)") }
        }
        return failures
    }

    /// Forgets the steps once the operation has succeeded.
    mutating func commit() { steps.removeAll() }
}

/// Random identifiers as Docker makes them.
enum RandomID {
    /// `count` lowercase hex characters from the system generator.
    static func hex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// A locally administered unicast MAC with Docker's 02:42 prefix and 4 random bytes.
    static func bridgeMAC() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return [0x02, 0x42] + (0..<4).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }
}
