@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Testing
@_spi(BerthInternal) @testable import BerthFirewall

/// `FirewallError` keeps the lower layer's error whole in `cause`, while its description reads
/// as before (built from `detail`).
@Suite("Firewall errors keep their cause (no privileges)")
struct FirewallErrorCauseTests {
    @Test func aProgramThatCannotBeRunKeepsItsProcessFailure() throws {
        var caught: (any Error)?
        do { _ = try ProcessRunner.run(["/nonexistent/iptables-restore"], stdin: nil, in: nil) } catch { caught = error }
        let failure = try #require(caught as? ProcessFailure)
        let error = IptablesBackend.runFailure(failure, operation: .addNetworkRules, object: "br0", host: nil)
        #expect(error.code == .toolMissing && error.errno == 2)
        #expect(error.cause == .process(failure))
        #expect(error.description == "add network rules br0: \(failure.step): No such file or directory")
    }

    @Test func aNamespaceFailureKeepsItsNamespaceError() {
        let namespaceError = NamespaceError(.notFound, errno: 2, operation: .enterNetns, object: "/run/netns/x")
        let failure = ProcessFailure(errno: namespaceError.errno, step: "enter netns", namespace: namespaceError)
        let error = IptablesBackend.runFailure(failure, operation: OperationName("read rules"), object: "iptables-save", host: nil)
        #expect(error.code == .namespace && error.cause == .namespace(namespaceError))
        #expect(error.description == "read rules iptables-save: enter netns /run/netns/x: No such file or directory")
    }

    @Test func causesCompareByValueAndDoNotChangeTheText() {
        let netlink = NetlinkError.refusal(17, operation: OperationName("commit"), object: "ip berth", message: "exists")
        let a = FirewallError(.rejected, errno: 17, operation: OperationName("op"), object: "obj", detail: "add table: exists", cause: .netlink(netlink))
        let b = FirewallError(.rejected, errno: 17, operation: OperationName("op"), object: "obj", detail: "add table: exists")
        #expect(a.description == b.description && a.description == "op obj: add table: exists")
        #expect(a != b)
        #expect(a.cause == .netlink(netlink) && a.cause != .netlink(NetlinkError.refusal(2, operation: OperationName("commit"), object: "ip berth")))
        #expect(a.cause?.description == "commit ip berth: File exists (exists)")
    }
}
