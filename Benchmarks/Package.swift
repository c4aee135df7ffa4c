// swift-tools-version: 6.1
// GmemKit's ordo-one/benchmark suite: a separate package so the main build stays light.
// Run from this directory: swift package benchmark   (README "Benchmarks", BENCHMARKS.md)
import PackageDescription

let package = Package(
    name: "GmemKitBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "GmemKit", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "GmemBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KVM", package: "GmemKit"),
                .product(name: "MicroVM", package: "GmemKit"),
                .product(name: "GuestImages", package: "GmemKit"),
                .product(name: "GmemModel", package: "GmemKit"),
                .product(name: "GmemExplorer", package: "GmemKit"),
            ],
            path: "Benchmarks/GmemBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
