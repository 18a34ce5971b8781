import Foundation

/// The process runner of the tests: independent tools (iproute2, iptables, nft, python3) run by
/// argv, no shell.
extension Sandbox {
    package struct Output: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    /// Runs a program (argv, no shell) and returns its exit status and output.
    @discardableResult
    package static func run(_ argv: [String], stdin: String? = nil) throws -> Output {
        let p = Process()
        let absolute = argv.first?.hasPrefix("/") == true
        p.executableURL = URL(fileURLWithPath: absolute ? argv[0] : "/usr/bin/env")
        p.arguments = absolute ? Array(argv.dropFirst()) : argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs a program and throws `SandboxError.command` unless it exits 0.
    @discardableResult
    package static func check(_ argv: [String], stdin: String? = nil) throws -> Output {
        let r = try run(argv, stdin: stdin)
        guard r.status == 0 else { throw SandboxError.command(argv.joined(separator: " "), r.stderr) }
        return r
    }

    /// Runs a command inside a named namespace (`ip netns exec NS ...`).
    @discardableResult
    package static func exec(_ netns: String, _ argv: [String], stdin: String? = nil) throws -> Output {
        try run(["ip", "netns", "exec", netns] + argv, stdin: stdin)
    }

    /// A short unique suffix (hex) for link and namespace names.
    package static func unique(_ prefix: String, length: Int = 6) -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return prefix + String(String(repeating: "0", count: 16 - hex.count) + hex).prefix(length)
    }
}

package enum SandboxError: Error, CustomStringConvertible {
    case command(String, String)
    package var description: String {
        switch self {
        case .command(let c, let e): "\(c) failed: \(e)"
        }
    }
}
