#if canImport(Glibc)
import Glibc
#endif

// berth-proxy: Berth's userland proxy for one published port (the docker-proxy role in Docker's
// default `--userland-proxy=true` mode). It binds the host address and port, tells its starter
// on descriptor 3 ("0\n" bound, "1\n<reason>" not; docker-proxy's protocol), and then copies
// traffic to the container address until it is killed. Started by the library (attach), stopped
// by it (detach, reconcile); no Foundation, single purpose.

// Descriptors a starter leaked without close-on-exec (a test harness's pipes) would be held for
// the proxy's whole life: only 0-3 are ours.
for fd in Int32(4)..<Int32(1024) { close(fd) }

let arguments: ProxyArguments
switch ProxyArguments.parse(CommandLine.arguments) {
case .success(let a): arguments = a
case .failure(let f): report("1\n" + f.message); exit(2)
}

/// Writes the start-up status to descriptor 3 when the starter gave one, then closes it.
func report(_ text: String) {
    var st = stat()
    guard fstat(3, &st) == 0 else { return }
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(3, $0.baseAddress, $0.count) }
    close(3)
}

signal(SIGPIPE, SIG_IGN)
let type = arguments.proto == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
let listener: Int32
do {
    listener = try Sockets.listener(type, arguments.hostIP, arguments.hostPort)
} catch {
    report("1\n" + error.message)
    exit(1)
}
report("0\n")
switch arguments.proto {
case .tcp: TCPProxy.run(listener: listener, arguments)
case .udp: UDPProxy.run(listener: listener, arguments)
}
