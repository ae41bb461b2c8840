import Foundation
import Testing

/// What one run of the `quanta` executable produced.
struct QuantaResult: CustomStringConvertible {
    var executable: String
    var arguments: [String]
    var exitCode: Int32
    /// False when the process died from a signal (a crash), which no input may cause.
    var exitedNormally: Bool
    var stdout: String
    var stderr: String

    var description: String {
        "\(executable) \(arguments.joined(separator: " ")) → exit \(exitCode)\(exitedNormally ? "" : " (signal)")\n"
            + "--- stdout ---\n\(stdout.prefix(4000))\n--- stderr ---\n\(stderr.prefix(4000))"
    }

    /// stdout parsed as a JSON object (for `--json`).
    func jsonObject(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try #require(parsed as? [String: Any], "stdout is not a JSON object:\n\(self)", sourceLocation: sourceLocation)
    }
}

enum QuantaLocatorError: Error, CustomStringConvertible {
    case executableMissing(searched: [String])

    var description: String {
        guard case let .executableMissing(searched) = self else { return "" }
        return "the `quanta` executable was not found; build it first (`make test` runs `swift build --build-tests`, "
            + "or `swift build --product quanta`), or point QUANTA_BIN at it. Searched:\n  "
            + searched.joined(separator: "\n  ")
    }
}

/// Runs the built `quanta` executable as a subprocess, the way a user does.
enum QuantaCLI {
    /// The executable next to this test bundle (same triple and configuration), else the
    /// newest `quanta` in a build folder of this package. `QUANTA_BIN` overrides both.
    static func executable() throws -> String {
        let manager = FileManager.default
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["QUANTA_BIN"], !explicit.isEmpty {
            candidates.append(explicit)
        }
        // The test binary (Linux: .build/<triple>/<config>/QuantaPackageTests.xctest; macOS: inside
        // the .xctest bundle) lives in the folder that also holds `quanta`.
        var testBinaries: [URL] = []
        if let executable = Bundle.main.executableURL { testBinaries.append(executable) }
        if let first = CommandLine.arguments.first { testBinaries.append(URL(fileURLWithPath: first)) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            testBinaries.append(bundle.bundleURL.appendingPathComponent("x"))
        }
        for binary in testBinaries {
            var folder = binary.resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 {  // also climb out of Contents/MacOS and the .xctest bundle itself
                candidates.append(folder.appendingPathComponent("quanta").path)
                folder = folder.deletingLastPathComponent()
            }
        }
        let fromNeighbours = candidates.first { isExecutableFile($0, manager) }
        if let found = fromNeighbours { return found }
        // Fallback: any build folder of this package (.build, .build-<name>), newest binary first.
        var built: [(path: String, date: Date)] = []
        let root = FixturePaths.root.path
        for entry in (try? manager.contentsOfDirectory(atPath: root)) ?? [] where entry.hasPrefix(".build") {
            for configuration in ["release", "debug"] {
                let path = "\(root)/\(entry)/\(configuration)/quanta"
                candidates.append(path)
                if isExecutableFile(path, manager),
                   let date = (try? manager.attributesOfItem(atPath: path))?[.modificationDate] as? Date {
                    built.append((path, date))
                }
            }
        }
        if let newest = built.max(by: { $0.date < $1.date }) { return newest.path }
        throw QuantaLocatorError.executableMissing(searched: candidates)
    }

    private static func isExecutableFile(_ path: String, _ manager: FileManager) -> Bool {
        var isDirectory: ObjCBool = false
        return manager.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && manager.isExecutableFile(atPath: path)
    }

    /// Runs `quanta arguments…` to completion. Output goes through files, not pipes, so a
    /// chatty child can never block on a full pipe buffer.
    static func run(_ arguments: [String], in directory: String? = nil) throws -> QuantaResult {
        let executable = try executable()
        let capture = try FixturePaths.scratchDirectory("quanta-cli-capture")
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let outPath = capture + "/stdout", errPath = capture + "/stderr"
        for path in [outPath, errPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return QuantaResult(
            executable: executable, arguments: arguments, exitCode: process.terminationStatus,
            exitedNormally: process.terminationReason == .exit,
            stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }
}
