import Foundation
import Testing

/// The fail-closed refusals end to end: a non-zero exit, a message naming what is wrong, and no
/// output (nor temporary) left; the flags that lift them; `inspect --check` and its exit codes.
@Suite struct FailClosedCommandTests {
    static let tinyLlama = FixturePaths.fixture("engine/tiny-llama")

    /// A copy of tiny-llama in `folder/name` with element `index` of `tensor` overwritten (f32 bits
    /// patched in place through the header, read independently of Quanta).
    static func patchedTinyLlama(in folder: String, name: String = "in", tensor: String, index: Int, value: Float) throws -> String {
        let directory = folder + "/" + name
        try TestFiles.copy(tinyLlama, to: directory)
        let file = directory + "/model.safetensors"
        let layout = try SafetensorsLayout(path: file)
        let entry = try #require(layout.tensors[tensor])
        var bytes = try TestFiles.bytes(file)
        var bits = value.bitPattern.littleEndian
        let at = layout.dataStart + entry.begin + 4 * index
        withUnsafeBytes(of: &bits) { bytes.replaceSubrange(at ..< at + 4, with: $0) }
        try TestFiles.write(bytes, to: file)
        return directory
    }

    @Test func nanWeightIsRefusedByNameAndNothingIsWritten() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-failclosed")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.patchedTinyLlama(in: scratch, tensor: "model.layers.2.self_attn.o_proj.weight", index: 70, value: .nan)
        for (format, output) in [("safetensors", "out"), ("pytorch", "out-bin")] {
            let result = try QuantaCLI.run(["convert", "--quiet", "--to", format, input, scratch + "/" + output])
            #expect(result.exitedNormally && result.exitCode != 0, "\(result)")
            #expect(result.stderr.contains("tensor 'model.layers.2.self_attn.o_proj.weight' has 1 NaN (first at element 70 of 4096)"), "\(result)")
            #expect(result.stderr.contains("--allow-nonfinite"), "\(result)")
            #expect(try TestFiles.listing(scratch) == ["in"], "nothing but the input is left")
        }
        let kept = try QuantaCLI.run(["convert", "--quiet", "--allow-nonfinite", "--to", "safetensors", input, scratch + "/out"])
        #expect(kept.exitCode == 0, "\(kept)")
        #expect(kept.stderr.contains("warning: tensor 'model.layers.2.self_attn.o_proj.weight' has 1 NaN"), "\(kept)")
        let out = try TensorBytes.read(scratch + "/out")
        let data = try #require(out["model.layers.2.self_attn.o_proj.weight"]).data
        #expect(TestFiles.float32(data, at: 4 * 70).isNaN)
    }

    @Test func quantizeRefusesNonFiniteValues() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-failclosed")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // In a linear the pass quantizes: never, flag or not.
        let linear = try Self.patchedTinyLlama(in: scratch, name: "linear", tensor: "model.layers.0.mlp.up_proj.weight", index: 3, value: .infinity)
        for extra in [[], ["--allow-nonfinite"]] {
            let result = try QuantaCLI.run(["quantize", "--quiet", "--method", "nf4"] + extra + [linear, scratch + "/nf4"])
            #expect(result.exitedNormally && result.exitCode != 0, "\(result)")
            #expect(result.stderr.contains("bitsandbytes cannot quantize tensor 'model.layers.0.mlp.up_proj.weight': it has 1 infinite value (first at element 3)"), "\(result)")
        }
        // In a tensor that stays in float: refused unless allowed.
        let norm = try Self.patchedTinyLlama(in: scratch, name: "norm", tensor: "model.norm.weight", index: 5, value: .nan)
        let refused = try QuantaCLI.run(["quantize", "--quiet", "--method", "int8", norm, scratch + "/int8"])
        #expect(refused.exitCode != 0 && refused.stderr.contains("tensor 'model.norm.weight' has 1 NaN"), "\(refused)")
        #expect(try TestFiles.listing(scratch) == ["linear", "norm"])
        let allowed = try QuantaCLI.run(["quantize", "--quiet", "--method", "int8", "--allow-nonfinite", norm, scratch + "/int8"])
        #expect(allowed.exitCode == 0, "\(allowed)")
    }

    @Test func ggufWithoutTokenizerNeedsTheExplicitFlag() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-failclosed")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/m.gguf"
        let refused = try QuantaCLI.run(["convert", "--quiet", "--to", "gguf", Self.tinyLlama, output])
        #expect(refused.exitedNormally && refused.exitCode != 0, "\(refused)")
        #expect(refused.stderr.contains("has no tokenizer") && refused.stderr.contains("pass --no-tokenizer"), "\(refused)")
        #expect(try TestFiles.listing(scratch).isEmpty)

        let written = try QuantaCLI.run(["convert", "--quiet", "--to", "gguf", "--no-tokenizer", Self.tinyLlama, output])
        #expect(written.exitCode == 0, "\(written)")
        #expect(try TestFiles.listing(scratch) == ["m.gguf"])

        let misplaced = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", "--no-tokenizer", Self.tinyLlama, scratch + "/hf"])
        #expect(misplaced.exitCode != 0 && misplaced.stderr.contains("--no-tokenizer applies to --to gguf only"), "\(misplaced)")
    }

    @Test func ggufOfARawTensorMapIsRefused() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-failclosed")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // The weights file alone: no config.json, so no architecture.
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "gguf", "--no-tokenizer", Self.tinyLlama + "/model.safetensors", scratch + "/m.gguf"])
        #expect(result.exitedNormally && result.exitCode != 0, "\(result)")
        #expect(result.stderr.contains("has no config.json") && result.stderr.contains("refusing to write a GGUF llama.cpp cannot load"), "\(result)")
        #expect(try TestFiles.listing(scratch).isEmpty)
    }

    @Test func inspectCheckExitCodes() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-failclosed")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let clean = try QuantaCLI.run(["inspect", "--check", Self.tinyLlama])
        #expect(clean.exitCode == 0, "\(clean)")
        #expect(clean.stdout == "checked 29 tensors (143808 values) of \(Self.tinyLlama): no findings\n", "\(clean)")

        let input = try Self.patchedTinyLlama(in: scratch, tensor: "model.embed_tokens.weight", index: 1234, value: -.infinity)
        let found = try QuantaCLI.run(["inspect", "--check", input])
        #expect(found.exitCode == 1, "\(found)")
        #expect(found.stdout.split(separator: "\n").first == "model.embed_tokens.weight: non-finite: 1 infinite value of 20480 (first at element 1234)", "\(found)")
        #expect(found.stdout.hasSuffix(": 1 finding in 1 tensor\n"), "\(found)")

        let json = try QuantaCLI.run(["inspect", "--check", "--json", input])
        #expect(json.exitCode == 1, "\(json)")
        let object = try json.jsonObject()
        #expect(object["ok"] as? Bool == false)
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.count == 1 && findings.first?["tensor"] as? String == "model.embed_tokens.weight" && findings.first?["count"] as? Int == 1)

        let missing = try QuantaCLI.run(["inspect", "--check", scratch + "/absent"])
        #expect(missing.exitCode == 2 && missing.stderr.contains("no such file"), "\(missing)")
    }

    @Test func realModelChecksClean() throws {
        try #require(RealModel.isPresent, "\(RealModel.path) is missing: run `make model`")
        let result = try QuantaCLI.run(["inspect", "--check", "--quiet", RealModel.path])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.hasSuffix("checked \(RealModel.tensorCount) tensors (\(RealModel.parameterCount) values) of \(RealModel.path): no findings\n"), "\(result)")
    }
}
