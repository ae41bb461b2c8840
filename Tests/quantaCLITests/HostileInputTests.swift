import Foundation
import Testing

/// Broken inputs through the CLI: a clear error naming the file, a normal non-zero exit (no
/// crash), and nothing left behind in the output's folder.
@Suite struct HostileInputTests {
    /// A broken input, made in `folder` from a fixture's bytes. `named` is what the error message
    /// must contain (the file at fault).
    struct Case: CustomStringConvertible, Sendable {
        var label: String
        var from: String?
        var make: @Sendable (_ folder: String) throws -> (input: String, named: String)
        var description: String { label }
    }

    static let cases: [Case] = [
        Case(label: "truncated safetensors") { folder in
            let path = folder + "/truncated.safetensors"
            let bytes = try TestFiles.bytes(FixturePaths.fixture("safetensors/dtypes.safetensors"))
            try TestFiles.write(bytes.prefix(bytes.count / 2), to: path)
            return (path, path)
        },
        Case(label: "safetensors header length past the end") { folder in
            let path = folder + "/huge-header.safetensors"
            var bytes = try TestFiles.bytes(FixturePaths.fixture("safetensors/dtypes.safetensors"))
            for i in 0..<8 { bytes[bytes.startIndex + i] = i < 6 ? 0xFF : 0x00 }
            try TestFiles.write(bytes, to: path)
            return (path, path)
        },
        Case(label: "directory with a truncated shard") { folder in
            let directory = folder + "/checkpoint"
            try TestFiles.copy(FixturePaths.fixture("safetensors/sharded"), to: directory)
            let shard = directory + "/model-00003-of-00007.safetensors"
            let bytes = try TestFiles.bytes(shard)
            try TestFiles.write(bytes.prefix(bytes.count - 100), to: shard)
            return (directory, "model-00003-of-00007.safetensors")
        },
        Case(label: "GGUF with a bad magic (format inferred)") { folder in
            let path = folder + "/bad-magic.gguf"
            try TestFiles.write(try Self.badMagicGGUF(), to: path)
            return (path, path)
        },
        Case(label: "GGUF with a bad magic (--from gguf)", from: "gguf") { folder in
            let path = folder + "/bad-magic.gguf"
            try TestFiles.write(try Self.badMagicGGUF(), to: path)
            return (path, path)
        },
        Case(label: "truncated GGUF") { folder in
            let path = folder + "/truncated.gguf"
            let bytes = try TestFiles.bytes(FixturePaths.fixture("gguf/aligned64.gguf"))
            try TestFiles.write(bytes.prefix(bytes.count * 2 / 3), to: path)
            return (path, path)
        },
        Case(label: "nonexistent path") { folder in
            let path = folder + "/no-such-model.safetensors"
            return (path, path)
        },
    ]

    static func badMagicGGUF() throws -> Data {
        var bytes = try TestFiles.bytes(FixturePaths.fixture("gguf/aligned64.gguf"))
        try #require(bytes.prefix(4) == Data("GGUF".utf8))
        bytes[bytes.startIndex + 3] = UInt8(ascii: "X")
        return bytes
    }

    enum OutputKind: String, CaseIterable, Sendable { case directory, file }

    /// Inputs and outputs live in separate folders so the output's folder can be compared
    /// before and after, hidden temporaries included.
    @Test(arguments: cases, OutputKind.allCases)
    func convertFailsCleanly(_ hostile: Case, _ kind: OutputKind) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-hostile")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let inputs = scratch + "/in", outputs = scratch + "/out"
        for folder in [inputs, outputs] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) }
        let (input, named) = try hostile.make(inputs)
        let inputsBefore = try TestFiles.listing(inputs)
        let output = outputs + (kind == .directory ? "/converted" : "/converted.safetensors")

        var arguments = ["convert", "--quiet", "--to", "safetensors"]
        if let from = hostile.from { arguments += ["--from", from] }
        let result = try QuantaCLI.run(arguments + [input, output])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.exitedNormally, "\(result)")
        #expect(result.stderr.contains(named), "the error must name \(named)\n\(result)")
        #expect(try TestFiles.listing(outputs) == [], "nothing may be left in the output's folder")
        #expect(try TestFiles.listing(inputs) == inputsBefore, "the input's folder must not change")
    }

    @Test(arguments: cases)
    func inspectFailsCleanly(_ hostile: Case) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-hostile")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (input, named) = try hostile.make(scratch)
        var arguments = ["inspect", "--quiet"]
        if let from = hostile.from { arguments += ["--from", from] }
        let result = try QuantaCLI.run(arguments + [input])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.exitedNormally, "\(result)")
        #expect(result.stderr.contains(named), "the error must name \(named)\n\(result)")
        #expect(result.stdout.isEmpty, "no partial report on stdout\n\(result)")
    }

    /// A broken second model is an error naming it, never a "match".
    @Test(arguments: cases.filter { $0.from == nil })
    func diffFailsCleanly(_ hostile: Case) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-hostile")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (input, named) = try hostile.make(scratch)
        let good = FixturePaths.fixture("engine/tiny-llama")
        let result = try QuantaCLI.run(["diff", "--quiet", good, input])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.exitedNormally, "\(result)")
        #expect(result.stderr.contains(named), "the error must name \(named)\n\(result)")
        #expect(!result.stdout.contains("MATCH"), "\(result)")
    }
}
