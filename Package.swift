// swift-tools-version:6.0
import Foundation
import PackageDescription

/// cdb: backups of the Claire de Binare trading stack. Small programs over one library (CDBKit).
/// The programs are the folders Sources/cdb-*: install.sh, scripts/generate.sh and the tests
/// list them the same way, so a new program is one new folder.
let programs = ((try? FileManager.default.contentsOfDirectory(atPath: Context.packageDirectory + "/Sources")) ?? [])
    .filter { $0.hasPrefix("cdb-") }.sorted()

let package = Package(
    name: "cdb",
    platforms: [.macOS(.v13)],
    products: programs.map { .executable(name: $0, targets: [$0]) } + [
        .library(name: "CDBKit", targets: ["CDBKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // The system calls Swift's Glibc module does not declare (see include/cdb_system.h).
        .target(name: "CSystem"),
        .target(
            name: "CDBKit",
            dependencies: [
                "CLibPQ", "CLibGit2", "CZstd", "CZlib", "CDeflate", "CSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "CDBCommandLine",
            dependencies: ["CDBKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "CDBKitTests", dependencies: ["CDBKit"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["CDBKit"] + programs.map { .target(name: $0) }
        ),
    ] + programs.map {
        .executableTarget(
            name: $0,
            dependencies: ["CDBKit", "CDBCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        )
    },
    swiftLanguageModes: [.v5]
)
