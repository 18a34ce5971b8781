import ArgumentParser

/// Options that take one value are declared as arrays and checked here, so that a repeated
/// option is a usage error instead of silently the last one kept (new-user trial).
/// - Returns: the value given, or nil.
/// - Throws: `ValidationError` naming the option, with `why` when given.
func singleValue(_ values: [String], _ flag: String, why: String? = nil) throws -> String? {
    guard values.count <= 1 else {
        throw ValidationError("\(flag) given \(values.count) times" + (why.map { ": \($0)" } ?? "; give it once"))
    }
    return values.first
}
