@_spi(BerthInternal) import BerthNamespace

/// The operations of the Berth layer (the words errors show before the object).
extension OperationName {
    public static let attach = OperationName("attach")
    public static let claimHost = OperationName("claim host namespace")
    public static let createNetwork = OperationName("create network")
    public static let deleteBridge = OperationName("delete bridge")
    public static let deleteNetwork = OperationName("delete network")
    public static let deleteVeth = OperationName("delete veth")
    public static let detach = OperationName("detach")
    public static let drain = OperationName("drain")
    public static let unplug = OperationName("unplug")
    public static let gc = OperationName("gc")
    public static let inspectNetwork = OperationName("inspect network")
    public static let listNetworks = OperationName("list networks")
    public static let lockState = OperationName("lock state")
    public static let removeRecord = OperationName("remove record")
    public static let listEndpoints = OperationName("list endpoints")
    public static let loadState = OperationName("load state")
    public static let openController = OperationName("open controller")
    public static let openState = OperationName("open state")
    /// Parsing a `-p`/`--publish` value (`PortSpec(parsing:)`).
    public static let parsePublish = OperationName("parse --publish")
    public static let reconcile = OperationName("reconcile")
    public static let removeIntent = OperationName("remove intent")
    public static let removePorts = OperationName("remove ports")
    public static let removeRules = OperationName("remove rules")
    public static let setDefaultRoute = OperationName("set default route")
    public static let setUpHost = OperationName("set up host")
    public static let startProxy = OperationName("start userland proxy")
    public static let stopProxy = OperationName("stop userland proxy")
    public static let writeRecord = OperationName("write record")
}
