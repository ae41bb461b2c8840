import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// Conversions between formats through the graph: names, Q/K row order, dtypes, tokenizer files,
/// and bit-exact round trips. Fixtures come from transformers (fixtures/engine) and the real model.
@Suite("Conversions")
struct ConversionTests {
    static let model = FixturePaths.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    @Test("HF → GGUF → HF is bit-identical for float dtypes", arguments: ["tiny-llama", "tiny-qwen2"], [DType.f32, .f16, .bf16])
    func huggingFaceGGUFRoundTrip(model: String, dtype: DType) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = FixturePaths.fixture("engine/\(model)")
        _ = try Converter.convert(input: source, output: scratch + "/cast", options: ConvertOptions(from: nil, to: .safetensors, dtype: dtype))
        // The engine fixtures have no tokenizer files: say so explicitly (GGUFRequirements refuses otherwise).
        var toGGUF = ConvertOptions(from: nil, to: .gguf)
        toGGUF.noTokenizer = true
        _ = try Converter.convert(input: scratch + "/cast", output: scratch + "/m.gguf", options: toGGUF)
        _ = try Converter.convert(input: scratch + "/m.gguf", output: scratch + "/back", options: ConvertOptions(from: nil, to: .safetensors))
        let report = try ModelDiffer.diff(scratch + "/cast", scratch + "/back", atol: 0, rtol: 0)
        #expect(report.withinTolerance, "\(report.text(showAll: false))")
        #expect(report.rows.count == (try ModelLoader.load(path: source)).tensors.count)
        // The GGUF carries llama.cpp's names and keys.
        let gguf = try GGUFFile(path: scratch + "/m.gguf")
        #expect(gguf.tensor(named: "blk.0.attn_q.weight") != nil)
        #expect(gguf.int((model == "tiny-qwen2" ? "qwen2" : "llama") + ".block_count") == 3)
    }

    @Test("HF safetensors → PyTorch .bin (single and sharded) → safetensors is bit-identical", arguments: [0, 200_000])
    func pytorchRoundTrip(maxShard: Int) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = FixturePaths.fixture("engine/tiny-qwen2")
        var options = ConvertOptions(from: nil, to: .pytorch)
        if maxShard > 0 { options.maxShardSize = maxShard }
        _ = try Converter.convert(input: source, output: scratch + "/bin", options: options)
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch + "/bin")
        #expect(names.contains(maxShard > 0 ? "pytorch_model.bin.index.json" : "pytorch_model.bin"))
        #expect(names.contains("config.json"))
        #expect(try ModelFormat.detect(path: scratch + "/bin") == .pytorch)
        _ = try Converter.convert(input: scratch + "/bin", output: scratch + "/back", options: ConvertOptions(from: .pytorch, to: .safetensors))
        let report = try ModelDiffer.diff(source, scratch + "/back", atol: 0, rtol: 0)
        let expectedCount = try ModelLoader.load(path: source).tensors.count
        #expect(report.withinTolerance && report.rows.count == expectedCount)
    }

    @Test("llama.cpp's Q/K interleave is applied on export and undone on import")
    func queryKeyPermutation() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = FixturePaths.fixture("engine/tiny-llama")
        var toGGUF = ConvertOptions(from: nil, to: .gguf)
        toGGUF.noTokenizer = true   // the fixture has no tokenizer files
        _ = try Converter.convert(input: source, output: scratch + "/m.gguf", options: toGGUF)
        let hf = try SafetensorsFile(path: source + "/model.safetensors")
        let gguf = try GGUFFile(path: scratch + "/m.gguf")
        let q = try #require(hf.tensor(named: "model.layers.0.self_attn.q_proj.weight")).view.floats()
        let stored = try gguf.view(of: try gguf.requiredTensor("blk.0.attn_q.weight")).floats()
        // 8 heads of 8 rows; GGUF row 2i+j holds HF row j·4+i within each head (convert_hf_to_gguf permute).
        let columns = 64
        for ggufRow in [0, 1, 2, 3, 9, 63] {
            let head = ggufRow / 8, within = ggufRow % 8
            let hfRow = head * 8 + (within % 2) * 4 + within / 2
            #expect(Array(stored[(ggufRow * columns) ..< ((ggufRow + 1) * columns)]) == Array(q[(hfRow * columns) ..< ((hfRow + 1) * columns)]))
        }
        // v is not permuted.
        let v = try #require(hf.tensor(named: "model.layers.0.self_attn.v_proj.weight")).view.floats()
        #expect(try gguf.view(of: try gguf.requiredTensor("blk.0.attn_v.weight")).floats() == v)
    }

    @Test("GGUF → GGUF at the same types is byte-identical on the real model")
    func ggufCopyIsIdentical() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try Converter.convert(input: Self.model, output: scratch + "/same.gguf", options: ConvertOptions(from: .gguf, to: .gguf))
        let a = try MappedFile(path: Self.model), b = try MappedFile(path: scratch + "/same.gguf")
        #expect(a.size == b.size)
        #expect(a.bytes.elementsEqual(b.bytes))
    }

    @Test("GGUF → HF writes tokenizer files whose vocabulary converts back unchanged")
    func tokenizerFilesRoundTrip() throws {
        let graph = try ModelLoader.load(path: Self.model)
        let original = try #require(graph.tokenizer)
        let files = try TokenizerFiles.huggingFaceFiles(original, contextLength: 8192)
        #expect(Set(files.map(\.name)) == ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])
        let back = try #require(try TokenizerFiles.tokenizerData(from: files))
        #expect(back.tokens == original.tokens)
        #expect(back.merges == original.merges)
        #expect(back.tokenTypes == original.tokenTypes)
        #expect(back.pre == "smollm" && original.pre == "smollm")
        #expect(back.bosTokenID == original.bosTokenID && back.eosTokenID == original.eosTokenID)
        #expect(back.chatTemplate == original.chatTemplate)
    }

    @Test("a tensor no table knows is an error that names it")
    func unmappedTensorIsNamed() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var graph = try ModelLoader.load(path: FixturePaths.fixture("engine/tiny-llama"))
        graph.nodes.append(Node(role: .other, tensors: [GraphTensor(name: "model.extra.weight", value: .dense(try TensorView.float32([1, 2], shape: [2])))]))
        #expect {
            _ = try GGUFExport.write(graph, to: scratch + "/x.gguf", outType: .auto, force: false)
        } throws: { error in
            "\(error)".contains("model.extra.weight")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch + "/x.gguf"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
    }

    @Test("GGUF → HF config.json has the hyperparameters transformers needs")
    func configFromGGUF() throws {
        let graph = try ModelLoader.load(path: Self.model)
        let config = try #require(graph.config)
        #expect(config["architectures"]?.arrayValue?.first?.stringValue == "LlamaForCausalLM")
        #expect(config["num_hidden_layers"]?.intValue == 30)
        #expect(config["num_key_value_heads"]?.intValue == 3)
        #expect(config["rms_norm_eps"]?.doubleValue == 1e-5)
        #expect(config["rope_theta"]?.doubleValue == 100000)
        #expect(config["tie_word_embeddings"]?.boolValue == true)
    }
}
