import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport

/// The posix_spawn runner: argv, stdin, both outputs, exit status, namespaces.
@Suite("process runner")
struct IptablesProcessTests {
    @Test func feedsStdinAndCapturesBothOutputs() throws {
        let big = String(repeating: "0123456789abcdef\n", count: 65_536)  // 1 MiB: more than a socket buffer
        let out = try ProcessRunner.run(["/bin/cat"], stdin: big, in: nil)
        #expect(out.status == 0)
        #expect(out.stdout == big)
        let err = try ProcessRunner.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], stdin: nil, in: nil)
        #expect(err.status == 3)
        #expect(err.stdout == "out\n")
        #expect(err.stderr == "err\n")
    }

    @Test func childThatIgnoresStdinDoesNotKillUs() throws {
        // /bin/true exits without reading: our writes hit a closed socket (EPIPE, no SIGPIPE).
        let out = try ProcessRunner.run(["/bin/true"], stdin: String(repeating: "x", count: 1 << 20), in: nil)
        #expect(out.status == 0)
    }

    @Test func argumentsAreNotShellInterpreted() throws {
        let out = try ProcessRunner.run(["/bin/echo", "$(id)", "a;b", "*"], stdin: nil, in: nil)
        #expect(out.stdout == "$(id) a;b *\n")
    }

    @Test func missingProgramAndRelativePath() {
        #expect(throws: ProcessFailure.self) { try ProcessRunner.run(["/nonexistent/prog"], stdin: nil, in: nil) }
        #expect(throws: ProcessFailure.self) { try ProcessRunner.run(["true"], stdin: nil, in: nil) }
    }

    @Test func signalStatusAndTimeout() throws {
        let killed = try ProcessRunner.run(["/bin/sh", "-c", "kill -TERM $$"], stdin: nil, in: nil)
        #expect(killed.status == 128 + 15)
        #expect(throws: ProcessFailure.self) {
            try ProcessRunner.run(["/bin/sleep", "5"], stdin: nil, in: nil, timeoutMilliseconds: 200)
        }
    }

    @Test(.enabled(if: Sandbox.isActive))
    func childRunsInTheGivenNamespace() throws {
        let scratch = try ScratchNamespace()
        defer { scratch.close() }
        let ns = scratch.namespace
        let out = try ProcessRunner.run(["/usr/bin/stat", "-L", "-c", "%i", "/proc/self/ns/net"], stdin: nil, in: ns)
        #expect(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(ns.inode))
        let mine = try ProcessRunner.run(["/usr/bin/stat", "-L", "-c", "%i", "/proc/self/ns/net"], stdin: nil, in: nil)
        #expect(mine.stdout != out.stdout)
    }
}
