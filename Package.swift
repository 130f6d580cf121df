// swift-tools-version:6.1
import PackageDescription

/// One set of compiler settings for every target, so that every module is
/// held to the same language mode and checks.
///
/// Release builds leave out the run-time checks of exclusive access (a
/// mutable class property or global reached by two accesses at once), which
/// debug builds, and so every test run, keep: in the import's storing loop
/// they were a twentieth of its processor time, a check on every property
/// of the append session it touches for every event.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Sunledger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sunledger", targets: ["sunledger"]),
        .executable(name: "sunledger-server", targets: ["SunledgerServer"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "LedgerDomain", targets: ["LedgerDomain"]),
        .library(name: "LedgerApp", targets: ["LedgerApp"]),
        .library(name: "LedgerServer", targets: ["LedgerServer"]),
    ],
    // The HTTP server's dependencies are fetched only with the trait
    // `Server` (on by default): `tools/demo` builds the command line with
    // `--disable-default-traits`, so a fresh clone neither fetches nor builds them.
    traits: [
        .trait(name: "Server", description: "The HTTP server (LedgerServer, sunledger-server) on Hummingbird."),
        .default(enabledTraits: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .systemLibrary(
            name: "CLibcrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // The executables' memory allocator, in place of the C library's: the
        // import parses on one thread and frees on others, where glibc's
        // malloc spends a tenth of the import's time (README, "How it is built").
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // The processor's prefetch hint (LedgerValues' `CacheHint`): a header, no library.
        .systemLibrary(name: "CPrefetch"),
        .target(
            name: "LMDBKit",
            dependencies: ["CLMDB"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerValues",
            dependencies: ["CPrefetch"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EventStore",
            dependencies: [
                "LMDBKit",
                "LedgerValues",
                "CLibcrypto",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerSeeds",
            path: "seeds",
            sources: ["Seeds.swift"],
            resources: [
                .copy("units.json"), .copy("enumerations.json"), .copy("worked-example.jsonl"), .copy("kpis.json"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerDomain",
            dependencies: ["LedgerValues"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerProjections",
            dependencies: ["LedgerDomain", "LedgerValues"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LedgerApp",
            dependencies: [
                "EventStore", "LMDBKit", "LedgerDomain", "LedgerValues", "LedgerSeeds", "LedgerProjections",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sunledger",
            dependencies: [
                "LedgerApp", "LedgerProjections", "LedgerDomain", "LedgerValues", "EventStore", "LMDBKit", "CJemalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The server lives in targets of its own so that the `sunledger`
        // product and the core libraries build without Hummingbird.
        .target(
            name: "LedgerServer",
            dependencies: [
                "LedgerApp", "EventStore", "LedgerDomain", "LedgerValues", "LedgerProjections",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Server"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Server"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["Server"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Server"])),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SunledgerServer",
            dependencies: [
                "LedgerServer", "LedgerApp", "CJemalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Server"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LMDBKitTests", dependencies: ["LMDBKit"], swiftSettings: swiftSettings),
        .testTarget(name: "LedgerValuesTests", dependencies: ["LedgerValues"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "EventStore", "LMDBKit", "LedgerValues", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerDomainTests",
            dependencies: [
                "LedgerDomain", "LedgerValues", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerProjectionsTests",
            dependencies: [
                "LedgerProjections", "LedgerDomain", "LedgerValues",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerAppTests",
            dependencies: [
                "LedgerApp", "EventStore", "LMDBKit", "LedgerValues", "LedgerDomain", "LedgerProjections", "sunledger",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LedgerServerTests",
            dependencies: [
                "LedgerServer", "LedgerApp", "EventStore", "LedgerValues", "LedgerDomain", "LedgerProjections",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Server"])),
                .product(name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Server"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Server"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Server"])),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
