@_spi(BerthInternal) import BerthNamespace
import Foundation

/// A named network namespace made with iproute2 (the independent tool), `lo` up, for one test;
/// deleted by `close()` or, at the latest, when the last reference goes.
package final class ScratchNamespace: Sendable {
    package let name: String
    /// The namespace, opened by name (for the code under test).
    package let namespace: NetworkNamespace

    package init(prefix: String = "bt-ns-") throws {
        name = Sandbox.unique(prefix)
        try Sandbox.addNamespace(name)
        do {
            namespace = try NetworkNamespace.open(name: name)
        } catch {
            Sandbox.deleteNamespace(name)
            throw error
        }
    }

    /// `/run/netns/NAME`.
    package var path: String { "/run/netns/\(name)" }

    /// Kills every process left in the namespace (a userland proxy, a server of a test), then
    /// deletes it; again is harmless. Nothing a test starts in it outlives the test.
    package func close() {
        namespace.killProcesses()
        Sandbox.deleteNamespace(name)
    }

    deinit { close() }
}

extension Sandbox {
    /// Names under /run/netns.
    package static func namedNamespaces() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
    }

    /// Creates a named namespace with iproute2, `lo` up (prefer `ScratchNamespace`, which also
    /// deletes it).
    package static func addNamespace(_ name: String) throws {
        try check(["ip", "netns", "add", name])
        try run(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// Deletes a named namespace with iproute2, ignoring errors (it may be gone already).
    package static func deleteNamespace(_ name: String) {
        _ = try? run(["ip", "netns", "del", name])
    }
}
