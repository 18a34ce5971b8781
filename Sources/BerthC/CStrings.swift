@_spi(BerthInternal) import BerthNamespace
// C strings out: static ones (status names, "" fallbacks) and malloc'ed ones the caller frees.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A static C string (lives as long as the program; the caller must not free it).
func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// A new malloc'ed copy of `text` (freed by the caller with berth_free).
/// - Throws: BERTH_ERR_INTERNAL when malloc fails.
func mallocString(_ text: String, _ operation: OperationName, _ object: String) throws(CallError) -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(text) else { throw CallError.internal(operation, object, "out of memory") }
    return copy
}
