@_spi(BerthInternal) import BerthNamespace

/// The operations of the Firewall layer (the words errors show before the object).
extension OperationName {
    public static let addNetworkRules = OperationName("add network rules")
    public static let addNftablesNetwork = OperationName("add nftables network")
    public static let addNftablesPorts = OperationName("add nftables ports")
    public static let addPortRules = OperationName("add port rules")
    public static let detectIptables = OperationName("detect iptables")
    public static let encodeNftablesMessage = OperationName("encode nftables message")
    public static let encodeRule = OperationName("encode rule")
    public static let findIptables = OperationName("find iptables")
    public static let parseRule = OperationName("parse rule")
    public static let parseSetElements = OperationName("parse set elements")
    public static let readNftablesTable = OperationName("read nftables table")
    public static let reapplyNftablesState = OperationName("reapply nftables state")
    public static let reapplyRules = OperationName("reapply rules")
    public static let reconcileNftablesState = OperationName("reconcile nftables state")
    public static let reconcileRules = OperationName("reconcile rules")
    public static let removeAllRules = OperationName("remove all rules")
    public static let removeNetworkRules = OperationName("remove network rules")
    public static let removeNftablesNetwork = OperationName("remove nftables network")
    public static let removeNftablesPorts = OperationName("remove nftables ports")
    public static let removeNftablesTable = OperationName("remove nftables table")
    public static let removePortRules = OperationName("remove port rules")
    public static let setUpBaseRules = OperationName("set up base rules")
    public static let setUpNftablesBase = OperationName("set up nftables base")
    public static let undoBaseRules = OperationName("undo base rules")
}
