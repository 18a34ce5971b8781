// swift-tools-version:6.1
// Berth benchmarks: a nested package on ordo-one/benchmark (design.md §2, §6).
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
    ],
    swiftLanguageModes: [.v6]
)
