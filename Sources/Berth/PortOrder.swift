@_spi(BerthInternal) import BerthFirewall

extension PortMapping {
    /// The order in which Docker 20.10 programs one endpoint's bindings: the daemon's
    /// `buildCreateEndpointOptions` runs go-connections `nat.SortPortMap`, whose comparator is
    /// `hostPort(i) > hostPort(j) || port(i) > port(j) || (port(i) == port(j) && proto(i) == tcp)`,
    /// applied by Go's `sort.Sort` (insertion sort below 13 elements), then regroups the bindings
    /// by container port (port and protocol) in the sorted order. The comparator is not a strict
    /// order, so the insertion sort is reproduced step for step. Observed by the oracle:
    /// `-p 7000:70 -p 9001:80 -p 8000:80` is programmed as 8000→80, 9001→80, 7000→70.
    /// Docker starts from its exposed-port map (random iteration order); Berth starts from the
    /// command-line order of first appearance, which gives Docker's result whenever the result
    /// does not depend on that order. Above 12 bindings Go switches to pdqsort; Berth keeps the
    /// insertion sort.
    /// Runs (`count > 1`) are ordered as Docker orders the single bindings of a range, and
    /// consecutive singles that form a run again (host and container port one below the
    /// previous, same protocol and address) are joined back, so the iptables backend, which
    /// renders a run highest port first, writes exactly Docker's sequence.
    /// - Parameter ports: the bindings in command-line order.
    /// - Returns: the same bindings in Docker's order.
    public static func dockerOrder(_ ports: [PortMapping]) -> [PortMapping] {
        let singles = ports.flatMap { $0.singles.reversed() }
        func key(_ p: PortMapping) -> Int { Int(p.containerPort) << 8 | Int(p.proto.number) }
        var groups: [Int: [PortMapping]] = [:]
        var keys: [Int] = []
        for p in singles {
            if groups[key(p)] == nil { keys.append(key(p)) }
            groups[key(p), default: []].append(p)
        }
        var s = keys.flatMap { groups[$0] ?? [] }
        func less(_ a: PortMapping, _ b: PortMapping) -> Bool {
            a.hostPort > b.hostPort || a.containerPort > b.containerPort || (a.containerPort == b.containerPort && a.proto == .tcp)
        }
        if s.count > 12 {
            // Go's sort.Sort switches to pdqsort above 12 elements; where the comparator is a
            // strict order (a range: host and container ports rise together) any sort agrees.
            s.sort(by: less)
        } else if s.count > 1 {
            for i in 1..<s.count {
                var j = i
                while j > 0 && less(s[j], s[j - 1]) {
                    s.swapAt(j, j - 1)
                    j -= 1
                }
            }
        }
        var order: [Int] = []
        var sorted: [Int: [PortMapping]] = [:]
        for p in s {
            if sorted[key(p)] == nil { order.append(key(p)) }
            sorted[key(p), default: []].append(p)
        }
        var out: [PortMapping] = []
        for p in order.flatMap({ sorted[$0] ?? [] }) {
            if var last = out.last, last.proto == p.proto, last.hostIP == p.hostIP,
               p.hostPort == last.hostPort &- 1, p.containerPort == last.containerPort &- 1, p.hostPort > 0, p.containerPort > 0 {
                last.hostPort = p.hostPort
                last.containerPort = p.containerPort
                last.count += 1
                out[out.count - 1] = last
            } else {
                out.append(p)
            }
        }
        return out
    }
}
