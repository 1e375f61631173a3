// swift-tools-version: 6.1
import PackageDescription

// Dependencies point one way, downward: needletail → Server → Commands → Engine, Config → RESP.
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
        .target(name: "RESP", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "Engine", dependencies: [
            .product(name: "Collections", package: "swift-collections"),
        ]),
        .target(name: "Config", dependencies: ["RESP"]),
        .target(name: "SystemShims"),
        .target(name: "Commands", dependencies: [
            "Config", "Engine", "RESP", "SystemShims",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "Server", dependencies: [
            "Commands", "Config", "Engine", "RESP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "needletail", dependencies: [
            "Server", "Config",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "TestSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "RESPTests", dependencies: [
            "RESP", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "Engine", "RESP"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport"]),
    ]
)
