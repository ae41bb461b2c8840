import Foundation
import Testing

/// The real model (SmolLM2-135M-Instruct Q4_1 GGUF) through the CLI: GGUF → safetensors f32,
/// read back by `diff` and by `eval`. One conversion serves every check (it writes ~540 MB).
@Suite(.serialized) struct GGUFConversionTests {
    @Test func ggufToSafetensorsFloat32() throws {
        try #require(RealModel.isPresent, "\(RealModel.path) is missing: run `make model`")
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-gguf")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/smollm2-f32"

        let result = try QuantaCLI.run(["convert", "--quiet", "--from", "gguf", "--to", "safetensors", "--dtype", "f32",
                                        RealModel.path, output])
        try #require(result.exitCode == 0, "\(result)")
        #expect(try TestFiles.listing(scratch) == ["smollm2-f32"], "only the output is left in its folder")

        // config.json from the GGUF metadata, with transformers' keys (SmolLM2-135M's config).
        let config = try TestFiles.jsonObject(output + "/config.json")
        #expect(config["model_type"] as? String == "llama")
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"])
        #expect(config["hidden_size"] as? Int == 576)
        #expect(config["intermediate_size"] as? Int == 1536)
        #expect(config["num_hidden_layers"] as? Int == 30)
        #expect(config["num_attention_heads"] as? Int == 9)
        #expect(config["num_key_value_heads"] as? Int == 3)
        #expect(config["vocab_size"] as? Int == 49152)
        #expect(config["tie_word_embeddings"] as? Bool == true)
        #expect(config["dtype"] as? String == "float32")

        // Every tensor dense f32 under its Hugging Face name.
        let tensors = try TensorBytes.read(output)
        #expect(tensors.count == RealModel.tensorCount)
        #expect(tensors.values.allSatisfy { $0.dtype == "F32" })
        #expect(tensors.values.reduce(0) { $0 + $1.shape.reduce(1, *) } == RealModel.parameterCount)
        #expect(tensors["model.embed_tokens.weight"]?.shape == [49152, 576])
        #expect(tensors["model.layers.0.self_attn.q_proj.weight"]?.shape == [576, 576])
        #expect(tensors["model.layers.29.self_attn.k_proj.weight"]?.shape == [192, 576])
        #expect(tensors["lm_head.weight"] == nil)

        // The values are exactly the dequantized GGUF weights, in Hugging Face row order.
        let diff = try QuantaCLI.run(["diff", "--quiet", output, RealModel.path])
        #expect(diff.exitCode == 0, "\(diff)")
        #expect(diff.stdout.hasSuffix("MATCH\n"), "\(diff)")

        // Independent of diff's own row handling: the engine reads the HF directory in HF order
        // and the GGUF in llama.cpp's Q/K order; both must give the same logits.
        let ids = scratch + "/ids.bin"
        try TestFiles.write(Self.tokenIDs(count: 128), to: ids)
        let eval = try QuantaCLI.run(["eval", "--json", output, "--baseline", RealModel.path, "--numerics", "exact",
                                      "--token-ids", ids, "--ctx", "64", "--chunks", "2"])
        try #require(eval.exitCode == 0, "\(eval)")
        let report = try eval.jsonObject()
        let ppl = try #require(report["ppl"] as? Double), baseline = try #require(report["baseline_ppl"] as? Double)
        #expect(ppl.isFinite && ppl > 1)
        #expect(abs(ppl / baseline - 1) < 1e-4, "\(report)")
        #expect(try #require(report["kld_mean"] as? Double) < 1e-6, "\(report)")
        #expect(report["top1_agreement"] as? Double == 1, "\(report)")
    }

    /// `diff` reads the GGUF on both sides (every block type of the model dequantized).
    @Test func ggufAgainstItselfMatches() throws {
        try #require(RealModel.isPresent, "\(RealModel.path) is missing: run `make model`")
        let result = try QuantaCLI.run(["diff", "--json", RealModel.path, RealModel.path])
        #expect(result.exitCode == 0, "\(result)")
        let report = try result.jsonObject()
        #expect(report["match"] as? Bool == true)
        #expect((report["tensors"] as? [[String: Any]])?.count == RealModel.tensorCount)
    }

    /// Deterministic token ids spread over the vocabulary (little-endian int32, as `--token-ids` reads).
    static func tokenIDs(count: Int) -> Data {
        var data = Data()
        var state: UInt32 = 12345
        for _ in 0..<count {
            state = state &* 1_103_515_245 &+ 12345
            var id = (UInt32(state >> 8) % 49152).littleEndian
            withUnsafeBytes(of: &id) { data.append(contentsOf: $0) }
        }
        return data
    }
}
