@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Synchronization

/// Whether the host namespace can listen on IPv6: Docker 20.10's `IsV6Listenable` (libnetwork
/// drivers/bridge/port_mapping.go: a `tcp6` listen on `[::1]:0`, once per daemon), which decides
/// whether a binding without an IPv6 host address also gets its `::` proxy (moby #42288).
/// Read here from the sysctls that make that listen fail: no `/proc/sys/net/ipv6` (the kernel
/// booted with `ipv6.disable=1`: EAFNOSUPPORT), or `net.ipv6.conf.all.disable_ipv6=1` /
/// `net.ipv6.conf.lo.disable_ipv6=1` (no `::1`: EADDRNOTAVAIL). Checked once per value (a
/// controller's `UserlandProxies`) and kept, as Docker keeps its answer.
final class IPv6Listenability: Sendable {
    private let answer = Mutex<Bool?>(nil)

    /// True when both keys read `0` in `host`; false when either is `1` or missing, or cannot be read.
    func check(in host: NetworkNamespace) -> Bool {
        answer.withLock { cached in
            if let cached { return cached }
            let keys = ["net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.lo.disable_ipv6"]
            let listenable = keys.allSatisfy { (try? Sysctl.read($0, in: host)) == "0" }
            cached = listenable
            return listenable
        }
    }
}
