@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

@Suite("Namespace layer: names (no privileges)")
struct NamespaceNameTests {
    // New-user trial: "x\n", "q\tq", "q q", "\u{1}" and "-q" were created (`ip netns list` then
    // failed on them).
    @Test(arguments: ["", "a/b", ".", "..", String(repeating: "x", count: 256), "x\n", "q\tq", "q q", "q\u{1}", "q\u{7f}", "-q", "\u{a0}x"])
    func invalidNamesAreRefused(_ name: String) {
        #expect(throws: NamespaceError.self) { try NetworkNamespace.validateName(name, operation: .createNetns) }
        do { try NetworkNamespace.validateName(name, operation: .createNetns) } catch {
            #expect(error.code == .invalidName)
            #expect(error.description.hasPrefix("create netns '"))
        }
    }

    @Test(arguments: ["c1", "berth-demo-c0-1f", "a.b_c-d", "UPPER", "ünïcode", String(repeating: "x", count: 255)])
    func validNamesPass(_ name: String) throws {
        try NetworkNamespace.validateName(name, operation: .createNetns)
    }

    @Test func errorDescriptionNamesOperationAndObject() {
        let e = NamespaceError.fromErrno(Errno(ENOENT), operation: .openNetns, object: "/run/netns/nope")
        #expect(e.code == .notFound)
        #expect(e.description == "open netns /run/netns/nope: No such file or directory")
    }
}

@Suite("Namespace layer: kernel", .enabled(if: Sandbox.isActive))
struct NamespaceKernelTests {
    @Test func createNamedIsSeenByIproute2AndDeleteRemovesIt() throws {
        let name = Sandbox.unique("bt-ns-")
        let ns = try NetworkNamespace.create(name: name)
        #expect(ns.name == name)
        let list = try Sandbox.run(["ip", "-j", "netns", "list"])
        #expect(list.stdout.contains("\"\(name)\""))
        // ip netns exec sees the same namespace: its inode equals ours.
        let inode = try Sandbox.exec(name, ["stat", "-L", "-c", "%i", "/proc/self/ns/net"])
        #expect(inode.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(ns.inode))
        // A second create with the same name is a typed conflict and changes nothing.
        #expect { try NetworkNamespace.create(name: name) } throws: { ($0 as? NamespaceError)?.code == .alreadyExists }
        try NetworkNamespace.delete(name: name)
        #expect(!Sandbox.namedNamespaces().contains(name))
        #expect { try NetworkNamespace.delete(name: name) } throws: { ($0 as? NamespaceError)?.code == .notFound }
    }

    @Test func openByPathNameAndPid() throws {
        let scratch = try ScratchNamespace()
        defer { scratch.close() }
        let byName = try NetworkNamespace.open(name: scratch.name)
        let byPath = try NetworkNamespace.open(path: scratch.path)
        #expect(byName.isSame(as: byPath))
        let mine = try NetworkNamespace.open(pid: getpid())
        #expect(mine.isSame(as: try NetworkNamespace.current()))
        #expect(!mine.isSame(as: byName))
    }

    @Test func missingAndForeignPathsAreTypedErrors() {
        #expect { try NetworkNamespace.open(path: "/run/netns/does-not-exist") } throws: {
            ($0 as? NamespaceError)?.code == .notFound
        }
        #expect { try NetworkNamespace.open(path: "/etc/hostname") } throws: {
            ($0 as? NamespaceError)?.code == .notANetworkNamespace
        }
        #expect { try NetworkNamespace.open(path: "/proc/self/ns/uts") } throws: {
            ($0 as? NamespaceError)?.code == .notANetworkNamespace
        }
        #expect { try NetworkNamespace.open(pid: 0) } throws: { ($0 as? NamespaceError)?.code == .notFound }
    }

    @Test func runEntersTheNamespaceAndNeverSwitchesTheCaller() throws {
        let anonymous = try NetworkNamespace.createAnonymous()
        let callerBefore = try NetworkNamespace.current()
        let inside = try anonymous.run { try NetworkNamespace.current() }
        #expect(inside.isSame(as: anonymous))
        #expect(try NetworkNamespace.current().isSame(as: callerBefore))
        // The namespace thread went home afterwards: a job without a namespace runs in the process's.
        let home = try NamespaceThread.shared.run(in: nil) { try NetworkNamespace.current() }
        #expect(home.isSame(as: try NetworkNamespace.open(path: "/proc/self/ns/net")))
        // Errors thrown inside come back unchanged.
        struct Marker: Error {}
        #expect(throws: Marker.self) { try anonymous.run { throw Marker() } }
    }

    @Test func missingCapabilityIsNamed() throws {
        // Capabilities are per thread: drop CAP_NET_ADMIN on a private thread only.
        let result = ThreadResult()
        let thread = Thread {
            Capabilities.dropNetAdminOnCurrentThread()
            do {
                _ = try NetworkNamespace.create(name: Sandbox.unique("bt-nocap-"))
                result.set("created")
            } catch let error as NamespaceError {
                result.set("\(error.code):\(error.object)")
            } catch {
                result.set("\(error)")
            }
        }
        thread.start()
        #expect(result.wait() == "missingCapability:CAP_NET_ADMIN")
    }
}
