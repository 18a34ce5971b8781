@_spi(BerthInternal) import BerthNamespace

/// Traffic control (RTM_NEWQDISC / RTM_DELQDISC / RTM_NEWTFILTER) for the tc-redirect wiring of
/// a micro-VM TAP to a veth (issue 16). Each call checks CAP_NET_ADMIN before sending.
@_spi(BerthInternal) extension NetlinkSession {
    /// `tc qdisc add dev #INDEX ingress`.
    /// - Throws: `NetlinkError` `.missingCapability`, `.exists` (an ingress qdisc is there), `.notFound`.
    public func addIngressQdisc(index: Int32, object: String) throws(NetlinkError) {
        let op = OperationName.addQdisc
        try requireNetAdmin(op, object)
        _ = try request(TrafficControlRequest.addIngressQdisc(index: index), operation: op, object: object)
    }

    /// `tc qdisc del dev #INDEX ingress` (its filters go with it).
    /// - Throws: `NetlinkError` `.missingCapability`, `.notFound` / `.invalidArgument` when there is none.
    public func deleteIngressQdisc(index: Int32, object: String) throws(NetlinkError) {
        let op = OperationName.deleteQdisc
        try requireNetAdmin(op, object)
        _ = try request(TrafficControlRequest.deleteIngressQdisc(index: index), operation: op, object: object)
    }

    /// `tc filter add dev #INDEX parent ffff: protocol all u32 match u32 0 0 action mirred egress
    /// redirect dev #TARGET`: every frame arriving on INDEX leaves through TARGET.
    /// - Throws: `NetlinkError` `.missingCapability`, `.notFound` (no ingress qdisc, or no TARGET),
    ///   `.invalidArgument`.
    public func addRedirectFilter(index: Int32, to target: Int32, object: String) throws(NetlinkError) {
        let op = OperationName.addFilter
        try requireNetAdmin(op, object)
        _ = try request(TrafficControlRequest.addRedirectFilter(index: index, to: target), operation: op, object: object)
    }
}
