// swift-tools-version: 6.2
// GmemKit: Swift toolkit for KVM virtual machines whose RAM is guest_memfd.
// Module layout and dependency direction: docs/DESIGN.md (and README.md).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]
/// Targets whose every unsafe expression is marked `unsafe` with a `// SAFETY:` line
/// (Scripts/check-strict-memory-safety.sh fails when one loses the setting).
let strictSwiftSettings: [SwiftSetting] = swiftSettings + [.strictMemorySafety()]

let package = Package(
    name: "GmemKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KVM", targets: ["KVM"]),
        .library(name: "GmemModel", targets: ["GmemModel"]),
        .library(name: "GuestMemory", targets: ["GuestMemory"]),
        .library(name: "MicroVM", targets: ["MicroVM"]),
        .library(name: "GuestImages", targets: ["GuestImages"]),
        .library(name: "GmemConformance", targets: ["GmemConformance"]),
        .library(name: "GmemExplorer", targets: ["GmemExplorer"]),
        .executable(name: "gmem", targets: ["gmem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `swift package generate-documentation` (Scripts/check-docs.sh); a command plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The pinned 6.18 KVM/guest_memfd UAPI subset and fixed-arity ioctl wrappers. The only C.
        .target(name: "CKVM"),
        // Typed Swift bindings: the only importer of CKVM.
        .target(
            name: "KVM",
            dependencies: [
                "CKVM", "GmemModel",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        // Pure executable model of docs/GMEM-SPEC.md: no syscalls, no Foundation, no dependencies.
        .target(name: "GmemModel", swiftSettings: strictSwiftSettings),
        .target(
            name: "GuestMemory",
            dependencies: ["KVM", "GmemModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwiftSettings
        ),
        // CRC32C for snapshot chunks (SSE4.2 where present): C for the instruction.
        .target(name: "CChecksum"),
        .target(
            name: "MicroVM",
            dependencies: ["KVM", "GuestMemory", "CChecksum", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwiftSettings
        ),
        // The guest programs in Guests/ (Embedded Swift), built by the GuestBuilder plugin into
        // static ELF64 images during `swift build` and embedded as `GuestImages.<name>`.
        .target(name: "GuestImages", swiftSettings: strictSwiftSettings, plugins: [.plugin(name: "GuestBuilder")]),
        // Build-time tool behind GuestBuilder: compiles, links and checks one guest image.
        .executableTarget(name: "GuestEmbed", swiftSettings: strictSwiftSettings),
        .plugin(name: "GuestBuilder", capability: .buildTool(), dependencies: ["GuestEmbed"]),
        .target(
            name: "GmemConformance",
            dependencies: ["KVM", "CKVM", "GmemModel", "MicroVM", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwiftSettings
        ),
        .target(
            name: "GmemExplorer",
            dependencies: ["GmemModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwiftSettings
        ),
        .executableTarget(
            name: "gmem",
            dependencies: [
                "KVM", "MicroVM", "GuestImages", "GmemConformance", "GmemExplorer", "GmemBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        // Measurement only: the raw C baseline every benchmark figure is compared with, and
        // the Swift side of `gmem bench` (boot snapshots for C, figures and their statistics).
        .target(name: "CBaseline", dependencies: ["CKVM"]),
        .target(
            name: "GmemBench",
            dependencies: [
                "CBaseline", "KVM", "MicroVM", "GuestMemory", "GuestImages", "GmemConformance", "GmemExplorer",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwiftSettings
        ),
        // Test support only: counts each thread's heap allocations (VCPU.run() allocates nothing).
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        // Test support only (used by the test targets, in no product): the serialized
        // `KernelTests` parent of every kernel suite of every test target, the `.requiresKVM`
        // trait (skipped with the reason /dev/kvm failed), the kernel lock, shared helpers.
        .target(
            name: "TestSupport", dependencies: ["KVM", "GmemModel"], path: "Tests/TestSupport",
            swiftSettings: strictSwiftSettings),
        // One test target per module; kernel suites nest under TestSupport's KernelTests.
        .testTarget(
            name: "KVMTests", dependencies: ["KVM", "CKVM", "AllocationCounter", "TestSupport"],
            swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "GuestMemoryTests", dependencies: ["GuestMemory", "KVM", "TestSupport"],
            swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "MicroVMTests",
            dependencies: [
                "MicroVM", "KVM", "GuestMemory", "GuestImages", "CChecksum", "AllocationCounter", "TestSupport",
            ],
            swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "GmemBenchTests", dependencies: ["GmemBench", "KVM", "MicroVM", "GuestImages", "TestSupport"],
            swiftSettings: strictSwiftSettings),
        // The `gmem` executable, run as a child process (`swift test` builds it first).
        .testTarget(
            name: "GmemCommandTests", dependencies: ["MicroVM", "TestSupport"], swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "GuestImagesTests", dependencies: ["GuestImages", "TestSupport"], swiftSettings: strictSwiftSettings),
        .testTarget(name: "GmemModelTests", dependencies: ["GmemModel"], swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "GmemConformanceTests",
            dependencies: ["GmemConformance", "GmemModel", "GmemExplorer", "KVM", "CKVM", "MicroVM", "TestSupport"],
            swiftSettings: strictSwiftSettings),
        .testTarget(
            name: "GmemExplorerTests", dependencies: ["GmemExplorer", "GmemModel", "GmemConformance", "TestSupport"],
            swiftSettings: strictSwiftSettings),
    ]
)
