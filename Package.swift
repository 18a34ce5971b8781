// swift-tools-version:6.1
// Berth: Docker-style container networking as an embeddable library (layers: see README.md, Layout).
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Berth", targets: ["Berth"]),
        // The lower layers, for the nested Benchmarks package only: their public surface is the
        // value and error types the façade re-exports; the wire layer is `package`, and what the
        // benchmarks time directly is behind `@_spi(BerthInternal)`. Users import `Berth`.
        .library(name: "BerthNetlink", targets: ["BerthNetlink"]),
        .library(name: "BerthNamespace", targets: ["BerthNamespace"]),
        .library(name: "BerthFirewall", targets: ["BerthFirewall"]),
        .executable(name: "berth", targets: ["BerthCLI"]),
        // The userland proxy of published ports (docker-proxy's role), started by the library.
        .executable(name: "berth-proxy", targets: ["BerthProxy"]),
        // The C ABI (include/berth.h), installed as libberth.so.0 by scripts/install.sh. Not named
        // "berth": that product name is the CLI's, and SwiftPM does not tell two products apart.
        .library(name: "BerthC", type: .dynamic, targets: ["BerthC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (apt providers), found through pkg-config.
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        // Our own C: what Swift cannot import (setns, unshare, mount flags, function-like macros).
        .target(name: "CBerthShims"),

        .target(name: "BerthNamespace", dependencies: ["CBerthShims", "CCap"]),
        .target(name: "BerthNetlink", dependencies: ["BerthNamespace", "CBerthShims", "CMnl"]),
        .target(name: "BerthFirewall", dependencies: ["BerthNetlink", "BerthNamespace", "CBerthShims", "CMnl", "CNftnl"]),
        .target(name: "Berth", dependencies: ["BerthFirewall", "BerthNetlink", "BerthNamespace"]),
        // The CNI 1.1 protocol (config, versions, results, errors, the verbs): the `berth` binary
        // runs it when CNI_COMMAND is set (README, "Use with Podman / containerd / Kubernetes").
        .target(name: "BerthCNI", dependencies: ["Berth", "BerthNetlink"]),
        // The C ABI (design.md §3): include/berth.h as a header-only module, implemented by BerthC
        // with @c @implementation, so a mismatch between header and implementation fails the build.
        .target(name: "CBerth", path: "include", publicHeadersPath: "."),
        .target(name: "BerthC", dependencies: ["Berth", "CBerth"], exclude: ["libberth.map"]),
        // No Foundation: one small process per published port.
        .executableTarget(name: "BerthProxy", dependencies: ["CBerthShims"]),
        .executableTarget(
            name: "BerthCLI",
            dependencies: ["Berth", "BerthCNI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Test support: Docker 20.10's golden dumps as resources (Tests/Fixtures/docker-20.10/README.md),
        // and the shared helpers (sandbox guard, commands, observers, namespaces, topology, traffic).
        .target(name: "BerthFixtures", path: "Tests/Fixtures", resources: [.copy("docker-20.10")]),
        .target(name: "BerthTestSupport", dependencies: ["BerthNamespace", "BerthNetlink"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthNamespaceTests", dependencies: ["BerthNamespace", "BerthTestSupport", "CCap"]),
        .testTarget(name: "BerthNetlinkTests", dependencies: ["BerthNetlink", "BerthTestSupport", "CMnl"]),
        .testTarget(name: "BerthFirewallTests", dependencies: ["BerthFirewall", "BerthFixtures", "BerthTestSupport"]),
        .testTarget(name: "BerthTests", dependencies: ["Berth", "BerthFixtures", "BerthTestSupport"]),
        // Compiles against `import Berth` alone: the public API carries what it needs.
        .testTarget(name: "BerthAPITests", dependencies: ["Berth"]),
        // The CNI plugin exec'd as runtimes do (env + stdin), and real runtimes (podman, ctr) driving it.
        .testTarget(name: "BerthCNITests", dependencies: ["BerthCNI", "BerthTestSupport"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthCLI", "Berth", "BerthFixtures", "BerthTestSupport"]),
        // Crash points, random kills, concurrency and ownership regressions (docs/notes.md, "Ownership").
        // The Docker 20.10 oracle: real dockerd against the berth CLI, scenario by scenario (docs/oracle.md).
        .testTarget(name: "BerthOracleTests", dependencies: ["BerthTestSupport"]),
        .testTarget(name: "BerthCrashTests", dependencies: ["Berth", "BerthFirewall", "BerthNamespace", "BerthTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
