// swift-tools-version:6.1
// Berth benchmarks: a nested package on ordo-one/benchmark (docs/design.md §2, §6).
// Run through ./run.sh (it puts the whole run inside `unshare --net --mount`); the benchmark code
// itself refuses to run unless BERTH_SANDBOX=1.
import PackageDescription

let package = Package(
    name: "BerthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Through a committed symlink so the identity ("berth-root") does not depend on the checkout folder name.
        .package(path: "berth-root"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The attach / detach steps, shared by the benchmark and the comparison probe so both time
        // exactly the same Berth code.
        .target(
            name: "AttachKit",
            dependencies: [
                .product(name: "BerthNetlink", package: "berth-root"),
                .product(name: "BerthNamespace", package: "berth-root"),
            ]
        ),
        .executableTarget(
            name: "Attach",
            dependencies: [
                "AttachKit",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Attach",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Plain executable printing per-iteration timings, for compare-netlink.sh.
        .executableTarget(name: "BerthAttachProbe", dependencies: ["AttachKit"]),
        // Fixtures for the public-API and firewall-layer benchmarks and the compare-peers probe.
        .target(
            name: "BenchKit",
            dependencies: [
                "AttachKit",
                .product(name: "Berth", package: "berth-root"),
                .product(name: "BerthFirewall", package: "berth-root"),
                .product(name: "BerthNetlink", package: "berth-root"),
                .product(name: "BerthNamespace", package: "berth-root"),
            ]
        ),
        // Issue 6: NetworkController per backend at 1/100/1000 endpoints and 1/50/200 networks.
        .executableTarget(
            name: "Controller",
            dependencies: [
                "BenchKit",
                .product(name: "Berth", package: "berth-root"),
                .product(name: "BerthFirewall", package: "berth-root"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Controller",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Issue 3: IptablesBackend / NftablesBackend alone with 1/50/200 networks present.
        .executableTarget(
            name: "Firewall",
            dependencies: [
                "BenchKit",
                .product(name: "BerthFirewall", package: "berth-root"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Firewall",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Issue 16: TAP attach/detach against ip tuntap + ip link, and against a veth attach.
        .executableTarget(
            name: "TapCompare",
            dependencies: [
                "AttachKit", "BenchKit",
                .product(name: "Berth", package: "berth-root"),
            ]
        ),
        // Issue 11: library detach, waitForKernel against unplug, side by side.
        .executableTarget(
            name: "DetachCompare",
            dependencies: [
                "AttachKit", "BenchKit",
                .product(name: "Berth", package: "berth-root"),
            ]
        ),
        // Issue 13: attach / detach with a 1,000-port range and 32 ports against one port, side by side.
        .executableTarget(
            name: "PortsCompare",
            dependencies: [
                "AttachKit", "BenchKit",
                .product(name: "Berth", package: "berth-root"),
                .product(name: "BerthFirewall", package: "berth-root"),
            ]
        ),
        // The in-process Berth library contestant of compare-peers.sh.
        .executableTarget(
            name: "BerthProbe",
            dependencies: [
                "AttachKit", "BenchKit",
                .product(name: "Berth", package: "berth-root"),
                .product(name: "BerthFirewall", package: "berth-root"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
