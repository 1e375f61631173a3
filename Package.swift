// swift-tools-version: 6.1
import PackageDescription

// Release builds skip Swift's run-time exclusivity checks (measured: ~5% of CPU on the request
// path); debug builds and tests keep them.
let optimized: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

// Dependencies point one way, downward: needletail → Server → Replication → Persistence → Commands → Engine, Config → RESP.
// See ../shared/DESIGN.md §2.
let package = Package(
    name: "needletail",
    products: [
        .executable(name: "needletail", targets: ["needletail"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        .target(name: "Locks", swiftSettings: optimized),
        .target(name: "RESP", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: optimized),
        .target(name: "Engine", dependencies: [
            "Locks", "SystemShims",
            .product(name: "Collections", package: "swift-collections"),
        ], swiftSettings: optimized),
        .target(name: "Config", dependencies: ["Locks", "RESP"], swiftSettings: optimized),
        .target(name: "SystemShims"),
        .target(name: "Commands", dependencies: [
            "Config", "Engine", "Locks", "RESP", "SystemShims",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: optimized),
        .target(name: "Persistence", dependencies: [
            "Commands", "Config", "Engine", "Locks",
            .product(name: "Collections", package: "swift-collections"),
        ], swiftSettings: optimized),
        .target(name: "Replication", dependencies: [
            "Commands", "Config", "Engine", "Locks", "Persistence", "RESP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: optimized),
        .target(name: "Server", dependencies: [
            "Commands", "Config", "Engine", "Locks", "Persistence", "Replication", "RESP", "SystemShims",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: optimized),
        .executableTarget(name: "needletail", dependencies: [
            "Server", "Config",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "TestSupport"),
        .testTarget(name: "RESPTests", dependencies: [
            "RESP", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "CommandsTests", dependencies: [
            "Commands", "Config", "Engine", "RESP", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "PersistenceTests", dependencies: [
            "Persistence", "Commands", "Config", "Engine", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "Commands"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Commands", "Config", "Engine",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport"]),
    ]
)
