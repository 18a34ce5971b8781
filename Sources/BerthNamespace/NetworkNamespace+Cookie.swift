internal import CBerthShims

extension NetworkNamespace {
    /// A key that names this namespace for as long as it lives and is never given to another:
    /// `cookie-<N>` from SO_NETNS_COOKIE (Linux >= 5.14, socket(7)); on older kernels
    /// `inode-<dev>-<ino>` of its nsfs file (which the kernel may reuse once it is gone).
    /// - Throws: `NamespaceError` when the namespace cannot be entered.
    package func identityKey() throws(NamespaceError) -> String {
        let cookie: UInt64?
        do {
            cookie = try NamespaceThread.shared.run(in: self) { () -> UInt64? in
                var value: UInt64 = 0
                return berth_netns_cookie(&value) == 0 ? value : nil
            }
        } catch {
            throw error.namespaceError
        }
        return cookie.map { "cookie-\($0)" } ?? "inode-\(device)-\(inode)"
    }
}
