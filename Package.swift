// swift-tools-version:6.0
// Quanta: convert and quantize LLM checkpoints, and measure what quantization cost.
import PackageDescription

let package = Package(
    name: "Quanta",
    products: [
        .executable(name: "quanta", targets: ["quanta"]),
        .library(name: "QuantaCore", targets: ["QuantaCore"]),
        .library(name: "QuantaFormats", targets: ["QuantaFormats"]),
        .library(name: "QuantaGraph", targets: ["QuantaGraph"]),
        .library(name: "QuantaQuant", targets: ["QuantaQuant"]),
        .library(name: "QuantaEngine", targets: ["QuantaEngine"]),
        .library(name: "QuantaKit", targets: ["QuantaKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .target(name: "CQuantaSys"),
        // exp-based row kernels (softmax, SwiGLU, log-sum-exp), weight tile decoders, ggml's activation
        // quantizers and the blocked int8 GEMM, in C so clang vectorizes them (target_clones per ISA).
        .target(name: "CQuantaKernels"),
        .target(name: "QuantaCore", dependencies: ["CQuantaSys"]),
        .target(name: "QuantaFormats", dependencies: ["QuantaCore"]),
        .target(name: "QuantaGraph", dependencies: ["QuantaCore", "QuantaFormats"]),
        .target(name: "QuantaQuant", dependencies: ["CQuantaKernels", "QuantaCore", "QuantaFormats", "QuantaGraph", "COpenBLAS"]),
        .target(name: "QuantaEngine",
                dependencies: ["CQuantaKernels", "QuantaCore", "QuantaFormats", "QuantaGraph", "QuantaQuant", "COpenBLAS"]),
        // User-level operations (load any format, convert, inspect, diff, quantize, eval): the CLI only parses and calls these.
        .target(name: "QuantaKit",
                dependencies: ["QuantaCore", "QuantaFormats", "QuantaGraph", "QuantaQuant", "QuantaEngine"]),
        .executableTarget(name: "quanta", dependencies: [
            "QuantaCore", "QuantaFormats", "QuantaGraph", "QuantaEngine", "QuantaKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "QuantaCoreTests", dependencies: ["QuantaCore"]),
        .testTarget(name: "QuantaFormatsTests", dependencies: ["QuantaCore", "QuantaFormats"]),
        .testTarget(name: "QuantaGraphTests", dependencies: ["QuantaCore", "QuantaFormats", "QuantaGraph"]),
        .testTarget(name: "QuantaQuantTests", dependencies: ["QuantaCore", "QuantaFormats", "QuantaQuant"]),
        .testTarget(name: "QuantaEngineTests",
                    dependencies: ["QuantaCore", "QuantaFormats", "QuantaGraph", "QuantaQuant", "QuantaEngine", "CQuantaKernels"]),
        .testTarget(name: "QuantaKitTests",
                    dependencies: ["QuantaCore", "QuantaFormats", "QuantaGraph", "QuantaQuant", "QuantaKit"]),
        .testTarget(name: "quantaCLITests", dependencies: ["QuantaCore"]),
    ],
    swiftLanguageModes: [.v6]
)
