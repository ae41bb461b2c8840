import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// Fail closed: NaN/±Inf weights refused by name (or kept with `allowNonFinite`), GGUFs llama.cpp
/// could not load refused before anything is written, block scales and casts that overflow refused.
/// Checkpoints are made here from fixtures/engine/tiny-llama with our own writer.
@Suite struct FailClosedTests {
    static let tinyLlama = FixturePaths.fixture("engine/tiny-llama")

    /// tiny-llama's config and weights in `directory`, with `edit` applied to each tensor's f32 values.
    static func tinyLlama(in directory: String, edit: (String, inout [Float]) -> Void = { _, _ in }) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: tinyLlama + "/config.json", toPath: directory + "/config.json")
        let graph = try ModelLoader.load(path: tinyLlama)
        var named: [(name: String, payload: TensorPayload)] = []
        for tensor in graph.tensors {
            guard case let .dense(view) = tensor.value else { continue }
            var values = view.floats()
            edit(tensor.name, &values)
            named.append((tensor.name, TensorPayload(view: try TensorView.float32(values, shape: view.shape))))
        }
        try SafetensorsWriter.write(tensors: named, metadata: [("format", "pt")], to: directory + "/model.safetensors")
        return directory
    }

    static func listing(_ folder: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

    static func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "(no error)"
    }

    static func gguf(_ noTokenizer: Bool = true, outType: GGUFOutType = .auto, allowNonFinite: Bool = false) -> ConvertOptions {
        var options = ConvertOptions(from: nil, to: .gguf, outType: outType)
        options.noTokenizer = noTokenizer
        options.allowNonFinite = allowNonFinite
        return options
    }

    // MARK: NaN/±Inf in the input

    @Test("a NaN weight stops every conversion with the tensor's name, and nothing is written",
          arguments: [("out", ModelFormat.safetensors), ("out-bin", .pytorch), ("out.gguf", .gguf)])
    func nanIsRefused(output: String, format: ModelFormat) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.tinyLlama(in: scratch + "/in") { name, values in
            if name == "model.layers.1.mlp.up_proj.weight" { values[17] = .nan }
        }
        var options = format == .gguf ? Self.gguf() : ConvertOptions(from: nil, to: format)
        options.dtype = format == .gguf ? nil : .bf16   // through the chunked cast too
        #expect {
            _ = try Converter.convert(input: input, output: scratch + "/" + output, options: options)
        } throws: { error in
            guard case let .nonFinite(tensor, stats) = error as? ValueCheckError else { return false }
            return tensor == "model.layers.1.mlp.up_proj.weight" && stats.nan == 1 && stats.firstNonFinite == 17
        }
        #expect(try Self.listing(scratch) == ["in"], "no output and no temporary is left")
    }

    @Test("with allowNonFinite the NaN is written as it is")
    func nanIsKeptWhenAllowed() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.tinyLlama(in: scratch + "/in") { name, values in
            if name == "model.norm.weight" { values[3] = -.infinity }
        }
        var options = ConvertOptions(from: nil, to: .safetensors)
        options.allowNonFinite = true
        _ = try Converter.convert(input: input, output: scratch + "/out", options: options)
        let out = try SafetensorsFile(path: scratch + "/out/model.safetensors")
        #expect(try #require(out.tensor(named: "model.norm.weight")).view.floats()[3] == -.infinity)
        _ = try Converter.convert(input: input, output: scratch + "/out.gguf", options: Self.gguf(allowNonFinite: true))
        let gguf = try GGUFFile(path: scratch + "/out.gguf")
        #expect(try gguf.view(of: try gguf.requiredTensor("output_norm.weight")).floats()[3] == -.infinity)
    }

    @Test("block quantization refuses NaN even when allowed, and a block scale that overflows float16")
    func blockQuantizationRefuses() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let nan = try Self.tinyLlama(in: scratch + "/nan") { name, values in
            if name == "model.layers.0.self_attn.v_proj.weight" { values[5] = .nan }
        }
        var text = Self.message { _ = try Converter.convert(input: nan, output: scratch + "/a.gguf", options: Self.gguf(outType: .q8_0, allowNonFinite: true)) }
        #expect(text.contains("'model.layers.0.self_attn.v_proj.weight' to Q8_0") && text.contains("1 NaN"), "\(text)")
        let huge = try Self.tinyLlama(in: scratch + "/huge") { name, values in
            if name == "model.layers.2.mlp.down_proj.weight" { values[40] = 1e7 }   // 1e7 / 127 > 65504
        }
        text = Self.message { _ = try Converter.convert(input: huge, output: scratch + "/b.gguf", options: Self.gguf(outType: .q8_0)) }
        #expect(text.contains("'model.layers.2.mlp.down_proj.weight' to Q8_0") && text.contains("block 1"), "\(text)")
        // The same value overflows an f16 cast.
        text = Self.message { _ = try Converter.convert(input: huge, output: scratch + "/c.gguf", options: Self.gguf(outType: .f16)) }
        #expect(text.contains("'model.layers.2.mlp.down_proj.weight'") && text.contains("overflows F16"), "\(text)")
        var cast = ConvertOptions(from: nil, to: .safetensors, dtype: .f16)
        cast.allowNonFinite = true
        text = Self.message { _ = try Converter.convert(input: huge, output: scratch + "/d", options: cast) }
        #expect(text.contains("overflows F16") && text.contains("element 40"), "\(text)")
        #expect(try Self.listing(scratch) == ["huge", "nan"])
    }

    @Test("a cast that overflows is refused on the reordering paths too (Q/K into llama.cpp's row order, and back)")
    func overflowOnReorderedTensors() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.tinyLlama(in: scratch + "/in") { name, values in
            if name == "model.layers.1.self_attn.q_proj.weight" { values[7] = 1e5 }
        }
        var options = Self.gguf(allowNonFinite: true)
        options.dtype = .f16
        var text = Self.message { _ = try Converter.convert(input: input, output: scratch + "/m.gguf", options: options) }
        #expect(text.contains("'model.layers.1.self_attn.q_proj.weight'") && text.contains("overflows F16"), "\(text)")
        // GGUF (Q/K interleaved) → safetensors f16 undoes the order while casting.
        _ = try Converter.convert(input: input, output: scratch + "/f32.gguf", options: Self.gguf())
        var back = ConvertOptions(from: nil, to: .safetensors, dtype: .f16)
        back.allowNonFinite = true
        text = Self.message { _ = try Converter.convert(input: scratch + "/f32.gguf", output: scratch + "/hf", options: back) }
        #expect(text.contains("'model.layers.1.self_attn.q_proj.weight'") && text.contains("overflows F16"), "\(text)")
        #expect(try Self.listing(scratch) == ["f32.gguf", "in"])
    }

    // MARK: GGUFs llama.cpp could not load

    @Test("a model without a tokenizer is refused before writing; --no-tokenizer writes llama.cpp's no-vocabulary marker")
    func noTokenizer() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let text = Self.message { _ = try Converter.convert(input: Self.tinyLlama, output: scratch + "/m.gguf", options: Self.gguf(false)) }
        #expect(text == "model dir \(Self.tinyLlama) has no tokenizer (no tokenizer.json or tokenizer.model): no tokenizer.ggml.* would be written; pass --no-tokenizer to write a GGUF without one", "\(text)")
        #expect(try Self.listing(scratch).isEmpty)

        _ = try Converter.convert(input: Self.tinyLlama, output: scratch + "/m.gguf", options: Self.gguf())
        let gguf = try GGUFFile(path: scratch + "/m.gguf")
        #expect(gguf.string("tokenizer.ggml.model") == "none")
        #expect(gguf.stringArray("tokenizer.ggml.tokens") == nil)
        #expect(gguf.int("llama.vocab_size") == 320)
    }

    @Test("a tokenizer only as tokenizer.model (SentencePiece) is named as what this build cannot convert")
    func sentencePieceOnly() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.tinyLlama(in: scratch + "/in")
        try Data([0x0A, 0x03, 0x61, 0x62, 0x63]).write(to: URL(fileURLWithPath: input + "/tokenizer.model"))
        let text = Self.message { _ = try Converter.convert(input: input, output: scratch + "/m.gguf", options: Self.gguf(false)) }
        #expect(text == "model dir \(input): tokenizer only as tokenizer.model (SentencePiece), which this build cannot convert: no tokenizer.ggml.* would be written; pass --no-tokenizer to write a GGUF without one", "\(text)")
        #expect(try Self.listing(scratch) == ["in"])
    }

    @Test("an architecture without llama.cpp names (a Qwen2MoE-like config) is refused, even with --no-tokenizer; safetensors ↔ PyTorch still converts it")
    func unmappedArchitecture() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = scratch + "/moe"
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let config = #"{"architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "hidden_size": 8, "num_experts": 2}"#
        try Data(config.utf8).write(to: URL(fileURLWithPath: input + "/config.json"))
        let names = ["model.embed_tokens.weight", "model.layers.0.mlp.gate.weight", "model.layers.0.mlp.experts.0.gate_proj.weight",
                     "model.layers.0.mlp.shared_expert_gate.weight"]
        try SafetensorsWriter.write(tensors: try names.map { ($0, TensorPayload(view: try TensorView.float32([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 4]))) },
                                    metadata: nil, to: input + "/model.safetensors")
        for noTokenizer in [false, true] {
            let text = Self.message { _ = try Converter.convert(input: input, output: scratch + "/m.gguf", options: Self.gguf(noTokenizer)) }
            #expect(text.hasPrefix("architecture 'Qwen2MoeForCausalLM' has no llama.cpp tensor-name mapping in Quanta: refusing to write a GGUF llama.cpp cannot load"), "\(text)")
        }
        #expect(try Self.listing(scratch) == ["moe"])
        _ = try Converter.convert(input: input, output: scratch + "/bin", options: ConvertOptions(from: nil, to: .pytorch))
        _ = try Converter.convert(input: scratch + "/bin", output: scratch + "/back", options: ConvertOptions(from: .pytorch, to: .safetensors))
        #expect(try ModelDiffer.diff(input, scratch + "/back", atol: 0, rtol: 0).withinTolerance)
    }

    @Test("GGUF → GGUF with --no-tokenizer drops the vocabulary and keeps what llama.cpp needs without it")
    func ggufWithoutTokenizer() throws {
        let model = FixturePaths.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        try #require(FileManager.default.fileExists(atPath: model), "\(model) is missing: run `make model`")
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try Converter.convert(input: model, output: scratch + "/m.gguf", options: Self.gguf())
        let gguf = try GGUFFile(path: scratch + "/m.gguf")
        #expect(gguf.string("tokenizer.ggml.model") == "none")
        #expect(!gguf.metadata.contains { $0.key.hasPrefix("tokenizer.") && $0.key != "tokenizer.ggml.model" })
        #expect(gguf.int("llama.vocab_size") == 49152)
        #expect(gguf.tensors.count == 272)
    }

    @Test("a byte-level tokenizer.json becomes llama.cpp's 'gpt-2' pre-tokenizer (llama.cpp refuses 'gpt2')")
    func gpt2PreTokenizer() throws {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}"#
        let data = try #require(try TokenizerFiles.tokenizerData(from: [SideFile(name: "tokenizer.json", contents: Array(json.utf8))]))
        #expect(data.pre == "gpt-2")
        #expect(data.tokens == ["a", "b", "ab"])
    }

    // MARK: inspect --check

    @Test("a clean model has no findings")
    func checkClean() throws {
        for fixture in ["engine/tiny-llama", "engine/tiny-qwen2", "bnb/tiny-llama-nf4-dq", "bnb/tiny-llama-int8", "awq/tiny-llama-awq"] {
            let report = try ModelChecker.check(path: FixturePaths.fixture(fixture))
            #expect(report.isClean, "\(fixture): \(report.text())")
            #expect(report.tensorsChecked > 0)
        }
    }

    @Test("check finds a NaN, an all-zero tensor and an infinite block scale, one line each")
    func checkFindings() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.tinyLlama(in: scratch + "/in") { name, values in
            if name == "model.layers.0.self_attn.k_proj.weight" { values[100] = .nan; values[200] = .infinity }
            if name == "model.layers.2.mlp.gate_proj.weight" { values = values.map { _ in 0 } }
        }
        let report = try ModelChecker.check(path: input)
        #expect(report.findings.map(\.line) == [
            "model.layers.0.self_attn.k_proj.weight: non-finite: 1 NaN and 1 infinite value of 1024 (first at element 100)",
            "model.layers.2.mlp.gate_proj.weight: all-zero: all 10240 values are zero",
        ], "\(report.text())")
        #expect(report.summary.hasSuffix("2 findings in 2 tensors"))

        // A Q8_0 tensor whose second block's scale is +inf (f16 0x7C00).
        var blocks = [UInt8](repeating: 0, count: 2 * 34)
        for block in 0 ..< 2 {
            blocks[block * 34] = 0x00; blocks[block * 34 + 1] = 0x3C   // d = 1
            for j in 0 ..< 32 { blocks[block * 34 + 2 + j] = UInt8(j + 1) }
        }
        blocks[34] = 0x00; blocks[35] = 0x7C
        var writer = GGUFWriter()
        try writer.addTensor(name: "w", type: .q8_0, shape: [2, 32], data: .bytes(blocks))
        try writer.write(to: scratch + "/scale.gguf")
        let gguf = try ModelChecker.check(path: scratch + "/scale.gguf")
        #expect(gguf.findings.map(\.line) == [
            "w: scale: d NaN/inf in 1 of 2 blocks (first at block 1 (value inf))",
            "w: non-finite: 32 infinite values of 64 (first at element 32)",
        ], "\(gguf.text())")
    }
}
