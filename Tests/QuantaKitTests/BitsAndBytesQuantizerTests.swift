import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// `quanta quantize --method nf4|fp4|int8` end to end on tiny-llama, against the checkpoints transformers
/// 5.23 + bitsandbytes 0.50.2 saved from the same model (fixtures/make_bnb.py): files, read-back,
/// dequantized weights, the engine's logits, GGUF export.
@Suite("bitsandbytes quantize / read back")
struct BitsAndBytesQuantizerTests {
    /// (fixture directory, options that reproduce it)
    static let cases: [(String, QuantizeOptions.Method, Bool)] = [
        ("tiny-llama-nf4-dq", .nf4, true), ("tiny-llama-fp4", .fp4, false), ("tiny-llama-int8", .int8, false),
    ]
    static let source = FixturePaths.fixture("engine/tiny-llama")

    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CoreError.io(path: path, reason: "unreadable fixture") }
        return [UInt8](data)
    }

    static func floats(_ path: String) throws -> [Float] {
        try bytes(path).withUnsafeBytes { raw in (0 ..< raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    @Test("safetensors and config.json are byte-identical to transformers' save_pretrained", arguments: [0, 1, 2])
    func quantizedFilesMatchTransformers(index: Int) throws {
        let (fixture, method, dq) = Self.cases[index]
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let summary = try Quantizer.quantize(input: Self.source, output: scratch + "/out",
                                             options: QuantizeOptions(method: method, doubleQuant: dq))
        #expect(summary.quantizedTensors == 21)
        let reference = FixturePaths.fixture("bnb/\(fixture)")
        #expect(try Self.bytes(scratch + "/out/model.safetensors") == Self.bytes(reference + "/model.safetensors"))
        #expect(try Self.bytes(scratch + "/out/config.json") == Self.bytes(reference + "/config.json"))
    }

    @Test("a transformers-saved checkpoint reads back: dequantized weights equal bitsandbytes', re-export is byte-identical", arguments: [0, 1, 2])
    func transformersCheckpointReadsBack(index: Int) throws {
        let (fixture, method, _) = Self.cases[index]
        let directory = FixturePaths.fixture("bnb/\(fixture)")
        let graph = try ModelLoader.load(path: directory)
        let quantized = graph.tensors.filter { if case .quantized = $0.value { return true }; return false }
        #expect(quantized.count == 21)
        for module in ["model.layers.0.self_attn.q_proj", "model.layers.2.mlp.down_proj"] {
            let tensor = try #require(graph.tensor(named: module + ".weight"))
            if case let .quantized(q) = tensor.value {
                #expect(method == .int8 ? q.scheme == .bnbInt8(threshold: 6.0) : q.scheme.description.hasPrefix(method.rawValue.uppercased()))
            }
            let ours = try Dequantizer.floats(tensor).map(\.bitPattern)
            let theirs = try Self.floats(directory + "/dequant/\(module).weight.f32").map(\.bitPattern)
            #expect(ours == theirs, "\(module)")
        }
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try Converter.convert(input: directory, output: scratch + "/again", options: ConvertOptions(from: nil, to: .safetensors))
        #expect(try Self.bytes(scratch + "/again/model.safetensors") == Self.bytes(directory + "/model.safetensors"))
    }

    @Test("the engine's logits on a transformers-saved checkpoint match transformers' (LLM.int8 kernel for int8)", arguments: [0, 1, 2])
    func engineLogitsMatchTransformers(index: Int) throws {
        let (fixture, method, _) = Self.cases[index]
        let directory = FixturePaths.fixture("bnb/\(fixture)")
        let graph = try ModelLoader.load(path: directory)
        let weights = try LlamaWeights(graph: graph)
        #expect(weights.layers.allSatisfy { ($0.int8 != nil) == (method == .int8) })
        let tokens = try Self.bytes(directory + "/tokens.bin").withUnsafeBytes { raw in
            (0 ..< raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
        }
        let runner = LlamaRunner(weights: weights, maxTokens: tokens.count)
        let ours = try runner.logits(tokens: tokens)
        let theirs = try Self.floats(directory + "/logits.bin")
        #expect(ours.count == theirs.count)
        let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "max |Δlogit| \(worst)")
    }

    @Test("--skip keeps matching modules in float and records them in llm_int8_skip_modules")
    func skipPatterns() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let summary = try Quantizer.quantize(input: Self.source, output: scratch + "/out",
                                             options: QuantizeOptions(method: .nf4, skip: ["mlp.down_proj", "model.layers.1"]))
        #expect(summary.quantizedTensors == 21 - 3 - 6)   // down_proj of layers 0 and 2, all 7 of layer 1
        let graph = try ModelLoader.load(path: scratch + "/out")
        if case .quantized = try #require(graph.tensor(named: "model.layers.0.mlp.down_proj.weight")).value { Issue.record("down_proj was quantized") }
        if case .quantized = try #require(graph.tensor(named: "model.layers.1.self_attn.q_proj.weight")).value { Issue.record("layer 1 was quantized") }
        if case .dense = try #require(graph.tensor(named: "model.layers.2.self_attn.q_proj.weight")).value {
            Issue.record("layer 2 q_proj should be quantized")
        }
        let settings = try #require(graph.config?["quantization_config"]?.objectValue)
        #expect(settings["llm_int8_skip_modules"] == .array([.string("mlp.down_proj"), .string("model.layers.1")]))
        #expect(try SkipRule(["layer.1"]).matches("layer.11.attn") == false)
        #expect(try SkipRule(["layer.*"]).matches("layer.11.attn"))
        #expect(try SkipRule(["mlp.gate"]).matches("model.layers.0.mlp.gate_proj") == false)
    }

    @Test("a bitsandbytes checkpoint converts to GGUF F32 with bitsandbytes' dequantized values")
    func convertsToGGUF() throws {
        let directory = FixturePaths.fixture("bnb/tiny-llama-nf4-dq")
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var toGGUF = ConvertOptions(from: nil, to: .gguf, outType: .f32)
        toGGUF.noTokenizer = true   // the fixture has no tokenizer files
        _ = try Converter.convert(input: directory, output: scratch + "/m.gguf", options: toGGUF)
        let back = try ModelLoader.load(path: scratch + "/m.gguf")
        let down = try Dequantizer.floats(try #require(back.tensor(named: "model.layers.2.mlp.down_proj.weight")))
        #expect(down.map(\.bitPattern) == (try Self.floats(directory + "/dequant/model.layers.2.mlp.down_proj.weight.f32")).map(\.bitPattern))
        let q = try Dequantizer.floats(try #require(back.tensor(named: "model.layers.0.self_attn.q_proj.weight")))
        #expect(q.map(\.bitPattern) == (try Self.floats(directory + "/dequant/model.layers.0.self_attn.q_proj.weight.f32")).map(\.bitPattern))
    }

    @Test("hostile bitsandbytes checkpoints fail with the tensor's name, and nothing is half-read")
    func hostileCheckpoint() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let graph = try ModelLoader.load(path: FixturePaths.fixture("bnb/tiny-llama-nf4-dq"))
        // Drop one component of one weight and write the rest as a checkpoint.
        var named: [(name: String, payload: TensorPayload)] = []
        for tensor in graph.tensors { named += try QuantizedLayouts.exportTensors(tensor) }
        named.removeAll { $0.name == "model.layers.1.mlp.up_proj.weight.nested_absmax" }
        try FileManager.default.createDirectory(atPath: scratch + "/bad", withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors: named, metadata: nil, to: scratch + "/bad/model.safetensors")
        try FileManager.default.copyItem(atPath: FixturePaths.fixture("bnb/tiny-llama-nf4-dq/config.json"), toPath: scratch + "/bad/config.json")
        #expect {
            _ = try ModelLoader.load(path: scratch + "/bad")
        } throws: { error in
            "\(error)".contains("model.layers.1.mlp.up_proj.weight")
        }
    }

    @Test("Int8Linear reproduces int8_mixed_scaled_mm with outlier columns")
    func int8LinearMatchesBitsAndBytes() throws {
        let root = FixturePaths.fixture("bnb") + "/"
        let a = try Self.floats(root + "int8/act.input"), out = try Self.floats(root + "int8/act.output")
        let cb = try Self.bytes(root + "int8/act.CB").map { Int8(bitPattern: $0) }, scb = try Self.floats(root + "int8/act.SCB")
        let linear = try Int8Linear(weights: cb, scales: scb, outputs: 24, inputs: 72, threshold: 6)
        var result = [Float](repeating: 0, count: 9 * 24)
        a.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { o in
                linear.apply(input.baseAddress!, rows: 9, inputStride: 72, into: o.baseAddress!, outputStride: 24, accumulate: false)
            }
        }
        let worst = zip(result, out).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "max |Δ| \(worst)")
    }

    @Test("4-bit weights reach the engine rounded to bnb_4bit_compute_dtype")
    func computeDTypeRounding() throws {
        let values = (0 ..< 256).map { Float($0) * 0.01 - 1.3 }
        let q = try values.withUnsafeBufferPointer {
            try BitsAndBytesEncoder.fourBit($0, shape: [4, 64], kind: .nf4, blockSize: 64, doubleQuant: false, dtype: .f32,
                                            computeDType: "bfloat16")
        }
        let tensor = GraphTensor(name: "model.layers.0.mlp.up_proj.weight", value: .quantized(q))
        let plain = try Dequantizer.floats(tensor)
        let engine = try LlamaInt8Linears.engineFloats(tensor)
        #expect(engine == plain.map { FloatBits.bf16ToFloat(FloatBits.floatToBF16($0)) })
        #expect(engine != plain)
    }
}
