import Foundation
import Testing

/// `quanta convert --dequantize` and the note printed without it, run as a user runs them, on the
/// NF4 checkpoint transformers + bitsandbytes saved (fixtures/bnb/tiny-llama-nf4-dq). Values are
/// checked in QuantaKitTests; here: files, stderr, exit codes.
@Suite struct DequantizeCommandTests {
    static let nf4 = FixturePaths.fixture("bnb/tiny-llama-nf4-dq")
    static let packedSuffixes = [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", ".quant_state.bitsandbytes__nf4"]

    @Test func dequantizeWritesPlainBFloat16Weights() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-dequant")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/plain"
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", "--dequantize", "--dtype", "bf16", Self.nf4, output])
        #expect(result.exitCode == 0, "\(result)")
        #expect(!result.stderr.contains("note:"), "\(result)")
        let tensors = try TensorBytes.read(output)
        #expect(!tensors.keys.contains { name in Self.packedSuffixes.contains { name.hasSuffix($0) } }, "\(tensors.keys.sorted())")
        #expect(tensors.values.allSatisfy { $0.dtype == "BF16" })
        let down = try #require(tensors["model.layers.2.mlp.down_proj.weight"])
        #expect(down.shape == [64, 160])
        let config = try TestFiles.jsonObject(output + "/config.json")
        #expect(config["quantization_config"] == nil)
        #expect(config["dtype"] as? String == "bfloat16")
    }

    @Test func dtypeWithoutDequantizePrintsOneNoteAndKeepsThePackedTensors() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-dequant")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/cast"
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "safetensors", "--dtype", "bf16", Self.nf4, output])
        #expect(result.exitCode == 0, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines == ["note: --dtype bf16 casts float tensors only: 21 quantized tensors stay packed (21 × NF4(b64,dq)); "
                          + "add --dequantize to write them as bf16 floats"], "\(result)")
        let before = try TensorBytes.read(Self.nf4), after = try TensorBytes.read(output)
        #expect(Set(after.keys) == Set(before.keys))
        for (name, tensor) in before where name.hasSuffix(".weight") && tensor.dtype == "U8" {
            #expect(after[name] == tensor, "\(name): packed bytes must be copied unchanged")
        }
        #expect(try TestFiles.jsonObject(output + "/config.json")["quantization_config"] != nil)

        let json = try QuantaCLI.run(["convert", "--json", "--to", "safetensors", "--dtype", "f16", Self.nf4, scratch + "/json"])
        #expect(json.exitCode == 0, "\(json)")
        let notes = try json.stderr.split(separator: "\n").compactMap { line -> [String: Any]? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["event"] as? String == "note" ? object : nil
        }
        #expect(notes.count == 1 && (notes.first?["message"] as? String)?.contains("--dequantize") == true, "\(json)")
    }

    @Test func dequantizeToAQuantizedOutTypeIsRefused() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-dequant")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try QuantaCLI.run(["convert", "--quiet", "--to", "gguf", "--outtype", "q8_0", "--dequantize", Self.nf4, scratch + "/m.gguf"])
        #expect(result.exitCode != 0 && result.exitedNormally, "\(result)")
        #expect(result.stderr.contains("--outtype q8_0"), "\(result)")
        #expect(try TestFiles.listing(scratch).isEmpty)
    }
}
