/// The operations of the Namespace layer.
extension OperationName {
    public static let openNetns = OperationName("open netns")
    public static let createNetns = OperationName("create netns")
    public static let deleteNetns = OperationName("delete netns")
    public static let enterNetns = OperationName("enter netns")
    public static let startNamespaceThread = OperationName("start namespace thread")
    public static let runProcess = OperationName("run process")
    public static let openTap = OperationName("open tap")
    public static let setTapPersist = OperationName("set tap persist")
    public static let setTapOwner = OperationName("set tap owner")
}
