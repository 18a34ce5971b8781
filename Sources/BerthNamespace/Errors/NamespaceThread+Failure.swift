@_spi(BerthInternal) extension NamespaceThread.Failure where BodyError == NamespaceError {
    /// The namespace error, whether entering failed or the body threw it.
    public var namespaceError: NamespaceError {
        switch self {
        case .namespace(let e), .body(let e): e
        }
    }
}

@_spi(BerthInternal) extension NamespaceThread.Failure where BodyError == Never {
    /// Entering the namespace failed (a body that cannot throw).
    public var namespaceError: NamespaceError {
        switch self {
        case .namespace(let e): e
        }
    }
}

@_spi(BerthInternal) extension NamespaceThread.Failure {
    /// The body's own error, or a namespace failure turned into the body's error type by `wrap`:
    /// `catch { throw error.unwrapped { NetlinkError.wrapping($0, …) } }`.
    public func unwrapped(_ wrap: (NamespaceError) -> BodyError) -> BodyError {
        switch self {
        case .namespace(let e): wrap(e)
        case .body(let e): e
        }
    }
}
