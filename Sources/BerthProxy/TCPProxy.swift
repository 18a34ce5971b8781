import CBerthShims
#if canImport(Glibc)
import Glibc
#endif

/// docker-proxy's TCP proxy: every accepted connection is copied both ways to the container
/// address, each direction half-closed when its source ends (Go's `io.Copy` + `CloseWrite`).
/// One child process per connection (SIGKILL with the proxy: PR_SET_PDEATHSIG), reaped by the
/// kernel (SIGCHLD ignored).
enum TCPProxy {
    static func run(listener: Int32, _ a: ProxyArguments) -> Never {
        signal(SIGCHLD, SIG_IGN)
        let me = getpid()
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }   // EINTR, ECONNABORTED, EMFILE: keep serving
            let child = fork()
            if child == 0 {
                _ = berth_set_parent_death_signal(SIGKILL)
                if getppid() != me { _exit(0) }   // the proxy died before the prctl
                close(listener)
                serve(client, a)
                _exit(0)
            }
            close(client)
        }
    }

    /// Copies client ⇄ container until both directions ended.
    private static func serve(_ client: Int32, _ a: ProxyArguments) {
        guard let backend = Sockets.connected(Int32(SOCK_STREAM.rawValue), a.containerIP, a.containerPort) else { return }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: backend, events: Int16(POLLIN), revents: 0)]
        var open = [true, true]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 * 1024, alignment: 1)
        defer { buffer.deallocate() }
        while open[0] || open[1] {
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; return }
            for i in 0..<2 where open[i] && fds[i].revents != 0 {
                let to = fds[1 - i].fd
                let n = read(fds[i].fd, buffer.baseAddress, buffer.count)
                if n <= 0 {
                    open[i] = false
                    fds[i].fd = -1      // poll ignores negative descriptors
                    shutdown(to, Int32(SHUT_WR))
                    if n < 0 { return }
                    continue
                }
                var sent = 0
                while sent < n {
                    let w = send(to, buffer.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL))
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }
}
