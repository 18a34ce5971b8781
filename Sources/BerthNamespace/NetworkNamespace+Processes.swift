#if canImport(Glibc)
import Glibc
#endif

@_spi(BerthInternal) extension NetworkNamespace {
    /// Sends SIGKILL to every process (but this one) whose network namespace is this one, found
    /// through `/proc/PID/ns/net` (device and inode compared): what `berth run` left in its
    /// sandbox, or what a killed `berth run` left behind.
    /// - Returns: how many processes were signalled.
    @discardableResult
    public func killProcesses() -> Int {
        guard let dir = opendir("/proc") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != getpid() else { continue }
            var st = stat()
            guard stat("/proc/\(pid)/ns/net", &st) == 0, UInt64(st.st_ino) == inode, UInt64(st.st_dev) == device else { continue }
            if kill(pid, SIGKILL) == 0 { count += 1 }
        }
        return count
    }
}
