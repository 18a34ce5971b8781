@_spi(BerthInternal) import BerthNamespace
// JSON results: compact, sorted keys, as berth.h documents ("JSON shapes").

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `value` as compact UTF-8 JSON with sorted keys and unescaped slashes.
/// - Throws: BERTH_ERR_INTERNAL when it does not encode.
func encodeJSON<T: Encodable>(_ value: T, _ operation: OperationName, _ object: String) throws(CallError) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        throw CallError.internal(operation, object, "cannot encode the result as JSON: \(error)")
    }
}

/// Stores `value` encoded as JSON into `*out` (when `out` is given; the caller frees it with
/// berth_free).
/// - Throws: BERTH_ERR_INTERNAL when it does not encode or malloc fails; `*out` is unchanged then.
func storeJSON<T: Encodable>(_ value: T, into out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                             _ operation: OperationName, _ object: String) throws(CallError) {
    guard let out else { return }
    out.pointee = try mallocString(try encodeJSON(value, operation, object), operation, object)
}
