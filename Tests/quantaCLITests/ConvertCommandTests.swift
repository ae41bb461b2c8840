import Foundation
import Testing

/// `quanta convert --to safetensors` of Hugging Face directories and single files.
@Suite struct ConvertCommandTests {
    /// Hugging Face directories made by transformers (make_engine.py, make_safetensors.py).
    static let directories = ["engine/tiny-llama", "safetensors/sharded"]

    /// Same format, same dtype: every tensor's bytes, config.json and the side files come out
    /// unchanged, and `quanta diff` reads the output back as equal to the input.
    @Test(arguments: directories)
    func directoryRoundTripKeepsTensorsAndSideFiles(_ fixture: String) throws {
        let input = FixturePaths.fixture(fixture)
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/out"
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", input, output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(try TestFiles.listing(scratch) == ["out"], "only the output is left in its folder")

        #expect(try TensorBytes.read(output) == TensorBytes.read(input))
        let sideFiles = try TestFiles.listing(input).filter { $0.hasSuffix(".json") && !$0.hasSuffix(".index.json") }
        #expect(sideFiles.contains("config.json"))
        for name in sideFiles {
            #expect(try TestFiles.bytes(output + "/" + name) == TestFiles.bytes(input + "/" + name), "\(name) changed")
        }

        let diff = try QuantaCLI.run(["diff", "--quiet", output, input])
        #expect(diff.exitCode == 0, "\(diff)")
        #expect(diff.stdout.hasSuffix("MATCH\n"), "\(diff)")
    }

    @Test func jsonSummaryNamesTheFilesWritten() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/out"
        let result = try QuantaCLI.run(["convert", "--json", "--to", "safetensors", FixturePaths.fixture("engine/tiny-llama"), output])
        #expect(result.exitCode == 0, "\(result)")
        let json = try result.jsonObject()
        #expect(json["tensors"] as? Int == InspectCommandTests.tinyLlamaTensors)
        let files = try #require(json["files"] as? [String])
        #expect(Set(files) == Set(try TestFiles.listing(output)), "\(files)")
        // "bytes" is what landed on disk: every file of the output.
        let onDisk = try files.reduce(0) { $0 + (try TestFiles.bytes(output + "/" + $1)).count }
        #expect(json["bytes"] as? Int == onDisk)
    }

    /// A single file written by `safetensors.numpy.save_file` comes back byte for byte (our
    /// writer orders and pads the header as save_file does).
    @Test func singleFileRoundTripIsByteExact() throws {
        let input = FixturePaths.fixture("safetensors/dtypes.safetensors")
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/copy.safetensors"
        // dtypes.safetensors holds NaN/±Inf on purpose (special values of every dtype): say so.
        let result = try QuantaCLI.run(["convert", "--quiet", "--allow-nonfinite", "--to", "safetensors", input, output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(try TestFiles.listing(scratch) == ["copy.safetensors"])
        #expect(try TensorBytes.read(output) == TensorBytes.read(input))
        #expect(try TestFiles.bytes(output) == TestFiles.bytes(input))
    }

    /// `--dtype bf16`: every float tensor becomes BF16, config.json records it (and nothing else
    /// changes in it), the values are the inputs rounded to bf16 (relative error ≤ 2⁻⁸).
    @Test func castToBFloat16ChangesDTypesAndConfig() throws {
        let input = FixturePaths.fixture("engine/tiny-llama")
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/bf16"
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", "--dtype", "bf16", input, output])
        #expect(result.exitCode == 0, "\(result)")

        let before = try TensorBytes.read(input), after = try TensorBytes.read(output)
        #expect(Set(after.keys) == Set(before.keys))
        for (name, tensor) in after {
            #expect(tensor.dtype == "BF16", "\(name)")
            #expect(tensor.shape == before[name]?.shape, "\(name)")
            #expect(tensor.data.count * 2 == before[name]?.data.count, "\(name)")
        }

        var config = try TestFiles.jsonObject(output + "/config.json")
        var original = try TestFiles.jsonObject(input + "/config.json")
        #expect(config["dtype"] as? String == "bfloat16")
        config["dtype"] = nil
        original["dtype"] = nil
        #expect(try TestFiles.canonicalJSON(config) == TestFiles.canonicalJSON(original), "config.json changed beyond its dtype")

        let exact = try QuantaCLI.run(["diff", "--quiet", output, input])
        #expect(exact.exitCode == 1, "bf16 rounding must show as a difference\n\(exact)")
        let tolerant = try QuantaCLI.run(["diff", "--quiet", "--rtol", "0.004", output, input])
        #expect(tolerant.exitCode == 0, "\(tolerant)")
    }

    /// `--max-shard-size`: shards named as transformers names them, an index mapping every
    /// tensor to an existing shard, no shard over the limit, and the whole reads back equal.
    @Test func maxShardSizeWritesShardsAndIndex() throws {
        let input = FixturePaths.fixture("engine/tiny-llama")
        let limit = 100_000
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/sharded"
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", "--max-shard-size", "100KB", input, output])
        #expect(result.exitCode == 0, "\(result)")

        let shards = try TestFiles.safetensorsFiles(in: output)
        #expect(shards.count >= 2, "\(shards)")
        for (i, shard) in shards.enumerated() {
            #expect(shard == String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count))
            let layout = try SafetensorsLayout(path: output + "/" + shard)
            let dataBytes = layout.tensors.values.reduce(0) { $0 + $1.end - $1.begin }
            // transformers lets a shard pass the limit only when it holds one oversized tensor.
            #expect(dataBytes <= limit || layout.tensors.count == 1, "\(shard): \(dataBytes) bytes")
        }
        let index = try TestFiles.jsonObject(output + "/model.safetensors.index.json")
        let weightMap = try #require(index["weight_map"] as? [String: String])
        let tensors = try TensorBytes.read(output)
        #expect(Set(weightMap.keys) == Set(tensors.keys))
        for (name, shard) in weightMap {
            #expect(shards.contains(shard), "\(name) → \(shard)")
            #expect(try SafetensorsLayout(path: output + "/" + shard).tensors[name] != nil, "\(name) not in \(shard)")
        }
        let totals = try #require(index["metadata"] as? [String: Any])
        #expect(totals["total_size"] as? Int == InspectCommandTests.tinyLlamaParameters * 4)

        #expect(tensors == (try TensorBytes.read(input)))
        #expect(try TestFiles.bytes(output + "/config.json") == TestFiles.bytes(input + "/config.json"))
        let diff = try QuantaCLI.run(["diff", "--quiet", output, input])
        #expect(diff.exitCode == 0, "\(diff)")
    }

    enum OutputKind: String, CaseIterable { case directory, file }

    static func outputPath(_ kind: OutputKind, in folder: String) -> String {
        kind == .directory ? folder + "/existing" : folder + "/existing.safetensors"
    }

    /// Makes an "existing output" with a marker: a directory holding keep.txt, or a file.
    static func makeExistingOutput(_ kind: OutputKind, at path: String) throws {
        switch kind {
        case .directory:
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try TestFiles.write(Data("keep me".utf8), to: path + "/keep.txt")
        case .file:
            try TestFiles.write(Data("keep me".utf8), to: path)
        }
    }

    /// An existing output is refused without `--force`: non-zero exit, the message names it,
    /// and neither it nor its folder changes.
    @Test(arguments: OutputKind.allCases)
    func existingOutputIsRefusedWithoutForce(_ kind: OutputKind) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = Self.outputPath(kind, in: scratch)
        try Self.makeExistingOutput(kind, at: output)
        let folderBefore = try TestFiles.listing(scratch)
        let input = kind == .directory ? FixturePaths.fixture("engine/tiny-llama") : FixturePaths.fixture("safetensors/dtypes.safetensors")

        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", input, output])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.exitedNormally, "\(result)")
        #expect(result.stderr.contains(output), "the message must name the existing output\n\(result)")
        #expect(try TestFiles.listing(scratch) == folderBefore, "no temporary left next to the output")
        switch kind {
        case .directory:
            #expect(try TestFiles.listing(output) == ["keep.txt"])
            #expect(try TestFiles.bytes(output + "/keep.txt") == Data("keep me".utf8))
        case .file:
            #expect(try TestFiles.bytes(output) == Data("keep me".utf8))
        }
    }

    /// `--force` replaces an existing output completely (no stale files survive in a directory).
    @Test(arguments: OutputKind.allCases)
    func forceReplacesAnExistingOutput(_ kind: OutputKind) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-convert")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = Self.outputPath(kind, in: scratch)
        try Self.makeExistingOutput(kind, at: output)
        let folderBefore = try TestFiles.listing(scratch)
        let input = kind == .directory ? FixturePaths.fixture("engine/tiny-llama") : FixturePaths.fixture("safetensors/dtypes.safetensors")

        // dtypes.safetensors holds NaN/±Inf on purpose (special values of every dtype): say so.
        let result = try QuantaCLI.run(["convert", "--quiet", "--force", "--allow-nonfinite", "--to", "safetensors", input, output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(try TestFiles.listing(scratch) == folderBefore, "only the replaced output is left in its folder")
        if kind == .directory {
            #expect(!TestFiles.exists(output + "/keep.txt"), "the old output's files must be gone")
            #expect(try TestFiles.listing(output).contains("config.json"))
        }
        #expect(try TensorBytes.read(output) == TensorBytes.read(input))
        let diff = try QuantaCLI.run(["diff", "--quiet", output, input])
        #expect(diff.exitCode == 0, "\(diff)")
    }
}
