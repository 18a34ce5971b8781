@_spi(BerthInternal) import BerthNamespace
// A JSON object of options (the options_json arguments of berth.h): only known keys, each of
// the type it needs, or BERTH_ERR_INVALID_ARGUMENT naming the key.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON object of options whose keys are checked against the ones allowed.
struct JSONOptions {
    let fields: [String: JSONValue]
    let operation: OperationName
    let object: String
    let context: String

    /// Parses `text` (nil = no options) as a JSON object with only `allowed` keys.
    init(_ text: String?, allowed: Set<String>, operation: OperationName, object: String, context: String = "options") throws(CallError) {
        guard let text else {
            try self.init(JSONValue.null, allowed: allowed, operation: operation, object: object, context: context)
            return
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw CallError.invalid(operation, object, "\(context) is not valid JSON")
        }
        try self.init(value, allowed: allowed, operation: operation, object: object, context: context)
    }

    init(_ value: JSONValue, allowed: Set<String>, operation: OperationName, object: String, context: String) throws(CallError) {
        self.operation = operation
        self.object = object
        self.context = context
        switch value {
        case .null: fields = [:]
        case .object(let f): fields = f
        default: throw CallError.invalid(operation, object, "\(context) must be a JSON object, not \(value.typeName)")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw CallError.invalid(operation, object, "unknown key '\(unknown)' in \(context)")
        }
    }

    func wrongType(_ key: String, _ wanted: String, _ value: JSONValue) -> CallError {
        CallError.invalid(operation, object, "\(context).\(key) must be \(wanted), not \(value.typeName)")
    }

    /// A string value; absent or null = nil.
    func string(_ key: String) throws(CallError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw wrongType(key, "a string", v)
        }
    }

    /// A boolean value; absent or null = nil.
    func bool(_ key: String) throws(CallError) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let v?: throw wrongType(key, "a boolean", v)
        }
    }

    /// An integer value within `range`; absent or null = nil.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(CallError) -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .number(let d)?:
            guard d.rounded() == d, d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
                throw CallError.invalid(operation, object, "\(context).\(key) must be an integer in \(range.lowerBound)–\(range.upperBound)")
            }
            return Int(d)
        case let v?: throw wrongType(key, "an integer", v)
        }
    }

    /// An object whose values are strings (booleans and integers are accepted and converted when
    /// `lenient`); absent or null = empty.
    func stringMap(_ key: String, lenient: Bool) throws(CallError) -> [String: String] {
        switch fields[key] {
        case nil, .null?: return [:]
        case .object(let map)?:
            var result: [String: String] = [:]
            for (k, v) in map {
                switch v {
                case .string(let s): result[k] = s
                case .bool(let b) where lenient: result[k] = b ? "true" : "false"
                case .number(let d) where lenient && d.rounded() == d && abs(d) < 1e15: result[k] = String(Int64(d))
                default: throw CallError.invalid(operation, object, "\(context).\(key).\(k) must be a string, not \(v.typeName)")
                }
            }
            return result
        case let v?: throw wrongType(key, "an object", v)
        }
    }

    /// An array value; absent or null = empty.
    func array(_ key: String) throws(CallError) -> [JSONValue] {
        switch fields[key] {
        case nil, .null?: return []
        case .array(let a)?: return a
        case let v?: throw wrongType(key, "an array", v)
        }
    }
}
