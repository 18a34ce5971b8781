import BerthTestSupport

/// One user action, carried out the same way through `docker` and through `berth`.
enum Step: Sendable, CustomStringConvertible {
    /// `network create ARGS NAME` (ARGS are the same flags on both CLIs).
    case create(String, [String] = [])
    /// `network rm NAME`.
    case rm(String)
    /// `docker run -d --name C --network N [OPTIONS] IMAGE sleep` / `berth attach --create N orc-C`.
    case run(String, on: String = "bridge", EndpointOptions = .init())
    /// `network connect [--ip] N C` / `berth attach N orc-C`.
    case connect(String, String, EndpointOptions = .init())
    /// `network disconnect N C` / `berth detach N orc-C`.
    case disconnect(String, String)
    /// `docker rm -f C` / `berth detach` of every endpoint of orc-C.
    case remove(String)

    var description: String {
        switch self {
        case .create(let n, let a): "network create \((a + [n]).joined(separator: " "))"
        case .rm(let n): "network rm \(n)"
        case .run(let c, let n, let o): "run \(c) on \(n) \(o.docker().joined(separator: " "))"
        case .connect(let n, let c, let o): "connect \(n) \(c) \(o.docker().joined(separator: " "))"
        case .disconnect(let n, let c): "disconnect \(n) \(c)"
        case .remove(let c): "rm \(c)"
        }
    }

    func apply(to side: Side) throws -> Output {
        switch self {
        case .create(let n, let a): try side.createNetwork(n, a)
        case .rm(let n): try side.removeNetwork(n)
        case .run(let c, let n, let o): try side.run(c, network: n, o)
        case .connect(let n, let c, let o): try side.connect(n, c, o)
        case .disconnect(let n, let c): try side.disconnect(n, c)
        case .remove(let c): try side.remove(c)
        }
    }
}

/// A named sequence of steps; after each step both sides are observed and compared.
struct Scenario: Sendable {
    var name: String
    var steps: [Step]
    init(_ name: String, _ steps: [Step]) {
        self.name = name
        self.steps = steps
    }
}

extension EndpointOptions {
    static func ip(_ a: String) -> EndpointOptions { .init(ip: a) }
    static func mac(_ m: String) -> EndpointOptions { .init(mac: m) }
    static func ip6(_ a: String) -> EndpointOptions { .init(ip6: a) }
    static func publish(_ p: String...) -> EndpointOptions { .init(publish: p) }
}
