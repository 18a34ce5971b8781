#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value of the CNI wire: network configurations are open (unknown keys are ignored and
/// `prevResult` is passed on as it came, CNI spec 1.1 "Section 1: Network configuration format"),
/// so they are read as values first and their known keys checked one by one (`CNIConfigReader`).
/// Numbers are Doubles (JSON has one number type); integral ones are written back without a
/// fraction.
public enum CNIJSON: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([CNIJSON])
    case object([String: CNIJSON])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([CNIJSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: CNIJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            if d.rounded() == d, abs(d) < 9e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// "a string", "an object"…: for error messages naming a wrong type.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public subscript(key: String) -> CNIJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Parses `bytes` as one JSON value.
    /// - Throws: `CNIError` code 6 (failed to decode content) naming what was being read.
    public static func parse(_ bytes: [UInt8], what: String) throws(CNIError) -> CNIJSON {
        do {
            return try JSONDecoder().decode(CNIJSON.self, from: Data(bytes))
        } catch {
            throw CNIError(.decodingFailure, "\(what) is not valid JSON", details: "\(error)")
        }
    }

    /// Compact JSON, keys sorted (as libcni writes configurations).
    public var text: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
