import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// Reading an AWQ checkpoint packed by someone else: fixtures/awq (GPTQModel 7.7.0's `pack_awq` and
/// `dequantize_gemm`, fixtures/make_awq.py).
@Suite("AWQ checkpoints from GPTQModel")
struct AWQReaderTests {
    static let model = FixturePaths.fixture("awq/tiny-llama-awq")
    static let modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    static func expected() throws -> [String: TensorView] {
        let file = try SafetensorsFile(path: FixturePaths.fixture("awq/expected.safetensors"))
        return Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.view) })
    }

    @Test("every linear imports as AWQ g32 and decodes to GPTQModel's dequantize_gemm (f16) from the exact f32 values")
    func decodesLikeGPTQModel() throws {
        let graph = try ModelLoader.load(path: Self.model)
        let expected = try Self.expected()
        var checked = 0
        for layer in 0 ..< 3 {
            for module in Self.modules {
                let name = "model.layers.\(layer).\(module)"
                let tensor = try #require(graph.tensor(named: name + ".weight"))
                guard case let .quantized(q) = tensor.value, case .awq(4, 32) = q.scheme else {
                    Issue.record("\(name) is not AWQ g32"); continue
                }
                let values = try Dequantizer.floats(tensor)
                let (out, inputs) = (q.shape[0], q.shape[1])
                let reference = try #require(expected[name + ".dequant"]).floats()   // [in, out] f16
                let codes = try #require(expected[name + ".codes"]).floats()          // [in, out]
                let zeros = try #require(expected[name + ".zeros"]).floats()          // [groups, out]
                let scales = try #require(q.component("scales")).floats()             // [groups, out]
                var mismatches = 0
                for o in 0 ..< out {
                    for i in 0 ..< inputs {
                        let ours = values[o * inputs + i]
                        let exact = (codes[i * out + o] - zeros[(i / 32) * out + o]) * scales[(i / 32) * out + o]
                        if ours != exact || Float(Float16(ours)) != reference[i * out + o] { mismatches += 1 }
                    }
                }
                #expect(mismatches == 0, "\(name): \(mismatches) values differ")
                // Our packer writes GPTQModel's bytes for the same codes.
                let codeBytes = codes.map { UInt8($0) }
                let ourWords = codeBytes.withUnsafeBufferPointer { AWQPacking.pack($0, rows: inputs, columns: out) }
                let theirs = try #require(q.component("qweight"))
                #expect(theirs.withUnsafeBytes { raw in (0 ..< ourWords.count).allSatisfy { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) == ourWords[$0] } })
                checked += 1
            }
        }
        #expect(checked == 21)
    }

    @Test("the engine loads the checkpoint and runs it; a wrong version or bit width is refused by name")
    func engineAndRefusals() throws {
        let graph = try ModelLoader.load(path: Self.model)
        let runner = LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 16)
        let logits = try runner.logits(tokens: (0 ..< 16).map { Int32($0 * 7 % 320) })
        #expect(logits.allSatisfy { $0.isFinite })
        let base = try JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: Self.model + "/config.json")).map { $0 }, context: "config").objectValue
        for (key, value) in [("version", JSONValue.string("gemv")), ("bits", .int(3))] {
            var config = try #require(base)
            var q = try #require(config["quantization_config"]?.objectValue)
            q[key] = value
            config["quantization_config"] = .object(q)
            let raw = try SafetensorsFile(path: Self.model + "/model.safetensors").tensors.map { GraphTensor(name: $0.name, value: .dense($0.view)) }
            #expect(throws: GraphError.self) { _ = try QuantizedLayouts.importTensors(config: config, tensors: raw, source: "x") }
        }
    }
}
