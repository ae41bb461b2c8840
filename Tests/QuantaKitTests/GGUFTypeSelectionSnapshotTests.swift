import Foundation
import QuantaFormats
@testable import QuantaKit
import Testing

/// llama.cpp's own goldens for the per-tensor type choice (tests/snapshots/*.schema, copied by
/// fixtures/make_quant_snapshots.sh): per mix, the default type and every tensor that differs.
struct TypeSnapshot: Sendable, CustomStringConvertible {
    let file: String
    var description: String { file }

    struct Section { var mix: String; var defaultType: String; var exceptions: [String: String] }

    func parse() throws -> (header: [String: Int], sections: [Section]) {
        let path = FixturePaths.fixture("quant-type-snapshots/\(file).schema")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var header: [String: Int] = [:]
        var sections: [Section] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# n_embd") {
                for field in line.dropFirst(2).split(separator: ",") {
                    let kv = field.trimmingCharacters(in: .whitespaces).split(separator: "=")
                    if kv.count == 2, let v = Int(kv[1]) { header[String(kv[0])] = v }
                }
            } else if line.hasPrefix("[") {
                let parts = line.split(separator: " ")
                sections.append(Section(mix: String(parts[0].dropFirst().dropLast()), defaultType: String(parts[1]), exceptions: [:]))
            } else if !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                sections[sections.count - 1].exceptions[String(parts[0])] = String(parts[1])
            }
        }
        return (header, sections)
    }

    /// The quantizable tensors of a dense Llama-family GGUF with these hyperparameters (head size
    /// 128 in all three models), in llama-quantize's order.
    static func tensors(_ h: [String: Int]) -> [MixTensor] {
        let embd = h["n_embd"] ?? 0, ff = h["n_ff"] ?? 0, vocab = h["n_vocab"] ?? 0
        let heads = h["n_head"] ?? 0, kv = h["n_head_kv"] ?? 0, head = 128
        var list = [MixTensor(name: "output.weight", dimensions: [embd, vocab], type: .f32),
                    MixTensor(name: "token_embd.weight", dimensions: [embd, vocab], type: .f32)]
        for layer in 0 ..< (h["n_layer"] ?? 0) {
            let p = "blk.\(layer)."
            list += [MixTensor(name: p + "attn_k.weight", dimensions: [embd, kv * head], type: .f32),
                     MixTensor(name: p + "attn_output.weight", dimensions: [heads * head, embd], type: .f32),
                     MixTensor(name: p + "attn_q.weight", dimensions: [embd, heads * head], type: .f32),
                     MixTensor(name: p + "attn_v.weight", dimensions: [embd, kv * head], type: .f32),
                     MixTensor(name: p + "ffn_down.weight", dimensions: [ff, embd], type: .f32),
                     MixTensor(name: p + "ffn_gate.weight", dimensions: [embd, ff], type: .f32),
                     MixTensor(name: p + "ffn_up.weight", dimensions: [embd, ff], type: .f32)]
        }
        return list
    }
}

@Suite("GGUF type selection against llama.cpp's test snapshots")
struct GGUFTypeSelectionSnapshotTests {
    static let snapshots = [("meta-llama-3.1-70b-instruct", "llama"), ("qwen3-14b", "qwen3"), ("qwen3-0.6b", "qwen3")]

    @Test("every mix Quanta offers chooses llama-quantize's type for every tensor", arguments: snapshots)
    func snapshot(_ entry: (String, String)) throws {
        let (header, sections) = try TypeSnapshot(file: entry.0).parse()
        let tensors = TypeSnapshot.tensors(header)
        let model = MixModel(architecture: entry.1, layerCount: header["n_layer"] ?? 0, headCount: header["n_head"] ?? 0,
                             kvHeadCount: header["n_head_kv"] ?? 0, expertCount: header["n_expert"] ?? 0)
        var checked = 0
        for section in sections {
            guard let fileType = LlamaFileType(name: section.mix) else { continue }
            let types = GGUFTypeSelection.types(for: tensors, model: model, options: MixOptions(fileType: fileType)).types
            for (tensor, type) in zip(tensors, types) {
                let expected = section.exceptions[tensor.name] ?? section.defaultType
                #expect(type.name.lowercased() == expected.lowercased(), "\(entry.0) \(section.mix): \(tensor.name) is \(type.name), llama.cpp \(expected)")
            }
            checked += 1
        }
        #expect(checked >= 15, "only \(checked) mixes of \(entry.0) were checked")
    }

    @Test("--tensor-type overrides, --pure, --output-tensor-type and --token-embedding-type apply as llama-quantize applies them")
    func userOptions() throws {
        let tensors = TypeSnapshot.tensors(["n_embd": 1024, "n_ff": 3072, "n_vocab": 1000, "n_layer": 8, "n_head": 16, "n_head_kv": 8])
        let model = MixModel(architecture: "llama", layerCount: 8, headCount: 16, kvHeadCount: 8)
        func types(_ configure: (inout MixOptions) throws -> Void) throws -> [String: GGMLType] {
            var options = MixOptions(fileType: .q4_K_M)
            try configure(&options)
            let chosen = GGUFTypeSelection.types(for: tensors, model: model, options: options).types
            return Dictionary(uniqueKeysWithValues: zip(tensors.map(\.name), chosen))
        }
        let plain = try types { _ in }
        #expect(plain["blk.0.attn_v.weight"] == .q6_K && plain["blk.1.attn_v.weight"] == .q4_K)
        let pure = try types { $0.pure = true }
        #expect(pure["blk.0.attn_v.weight"] == .q4_K && pure["output.weight"] == .q4_K)
        let overridden = try types { $0.overrides = [try TensorTypeOverride(argument: "attn_(q|k)=q8_0")] }
        #expect(overridden["blk.3.attn_q.weight"] == .q8_0 && overridden["blk.3.attn_k.weight"] == .q8_0)
        #expect(overridden["blk.3.attn_output.weight"] == .q4_K)
        let heads = try types { $0.outputTensorType = .q8_0; $0.tokenEmbeddingType = .f16 }
        #expect(heads["output.weight"] == .q8_0 && heads["token_embd.weight"] == .f16)
        let kept = try types { $0.leaveOutputTensor = true }
        #expect(kept["output.weight"] == .f32)
        #expect(throws: KitError.self) { try TensorTypeOverride(argument: "attn_v") }
        #expect(throws: KitError.self) { try TensorTypeOverride(argument: "attn_v=q9_9") }
    }
}
