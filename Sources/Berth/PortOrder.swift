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
    /// - Parameter ports: the bindings in command-line order.
    /// - Returns: the same bindings in Docker's order.
    public static func dockerOrder(_ ports: [PortMapping]) -> [PortMapping] {
        func key(_ p: PortMapping) -> String { "\(p.containerPort)/\(p.proto.rawValue)" }
        var keys: [String] = []
        for p in ports where !keys.contains(key(p)) { keys.append(key(p)) }
        var s = keys.flatMap { k in ports.filter { key($0) == k } }
        func less(_ a: PortMapping, _ b: PortMapping) -> Bool {
            a.hostPort > b.hostPort || a.containerPort > b.containerPort || (a.containerPort == b.containerPort && a.proto == .tcp)
        }
        if s.count > 1 {
            for i in 1..<s.count {
                var j = i
                while j > 0 && less(s[j], s[j - 1]) {
                    s.swapAt(j, j - 1)
                    j -= 1
                }
            }
        }
        var order: [String] = []
        for p in s where !order.contains(key(p)) { order.append(key(p)) }
        return order.flatMap { k in s.filter { key($0) == k } }
    }
}
