import Foundation
import QuantaCore
import QuantaFormats
@testable import QuantaKit
import Testing

/// One golden of fixtures/gguf-mixes (fixtures/make_gguf_mixes.py): what llama.cpp's own
/// `llama-quantize` wrote for a mix, with or without an importance matrix.
struct MixGolden: Sendable, CustomStringConvertible {
    let model: String
    let mix: String
    let withImatrix: Bool
    var description: String { "\(model) \(mix)\(withImatrix ? " +imatrix" : "")" }

    struct Expected {
        var bytes: Int
        var sha256: String
        var tensors: [(name: String, type: String, sha256: String)]
    }

    func expected() throws -> Expected {
        let path = FixturePaths.fixture("gguf-mixes/\(model)/\(mix)\(withImatrix ? "-imatrix" : "").json")
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        let json = try JSONParser.parse([UInt8](data), context: path)
        let tensors = try (json["tensors"]?.arrayValue ?? []).map { t in
            (name: try #require(t["name"]?.stringValue), type: try #require(t["type"]?.stringValue),
             sha256: try #require(t["sha256"]?.stringValue))
        }
        return Expected(bytes: try #require(json["bytes"]?.intValue), sha256: try #require(json["sha256"]?.stringValue),
                        tensors: tensors)
    }

    /// The importance matrix the fixture gave llama-quantize, labelled with the relative path it
    /// recorded as quantize.imatrix.file.
    func importance() throws -> GGUFImportance? {
        guard withImatrix else { return nil }
        let relative = "fixtures/gguf-mixes/\(model)-imatrix.gguf"
        return try GGUFImportance(loading: FixturePaths.root.appendingPathComponent(relative).path, label: relative)
    }

    /// Runs our quantizer on `input` and compares with llama-quantize's file: the whole file's hash,
    /// then (to say what differs) every tensor's type and hash.
    func check(input: String, scratch: String) throws {
        let expected = try expected()
        let fileType = try #require(LlamaFileType(name: mix))
        let output = scratch + "/\(mix)\(withImatrix ? "-imatrix" : "").gguf"
        _ = try GGUFQuantizer.quantize(input: input, output: output,
                                       options: GGUFQuantizeOptions(mix: MixOptions(fileType: fileType), importance: try importance()))
        defer { try? FileManager.default.removeItem(atPath: output) }
        let actualHash = try SHA256.hex(file: output)
        if actualHash == expected.sha256 { return }
        let file = try GGUFFile(path: output)
        #expect(file.tensors.map(\.name) == expected.tensors.map(\.name), "\(self): tensor order differs")
        var differing: [String] = []
        for (ours, theirs) in zip(file.tensors, expected.tensors) {
            if ours.type.name != theirs.type {
                differing.append("\(ours.name): type \(ours.type.name), llama-quantize \(theirs.type)")
            } else if SHA256.hex(ours.bytes) != theirs.sha256 {
                differing.append("\(ours.name) (\(ours.type.name)): bytes differ")
            }
        }
        let sizes = "\(Converter.outputBytes(output)) bytes, llama-quantize \(expected.bytes)"
        Issue.record("\(self): the file differs from llama-quantize's (\(sizes)); \(differing.count) tensors differ\(differing.isEmpty ? " (the header differs)" : ": " + differing.prefix(8).joined(separator: "; "))")
    }
}

@Suite("GGUF mixes against llama-quantize's own files", .serialized)
struct GGUFMixGoldenTests {
    static let allMixes = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K",
                           "IQ4_NL", "IQ4_XS", "Q4_0", "Q5_1", "Q8_0"]
    /// The mixes the issue names for SmolLM2 (each quantization of 135 M weights takes seconds).
    static let smolMixes = ["Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"]

    static let tinyCases = allMixes.flatMap { [MixGolden(model: "tiny-llama", mix: $0, withImatrix: false),
                                                MixGolden(model: "tiny-llama", mix: $0, withImatrix: true)] }

    @Test("a tiny Llama (rows of 256/512, GQA 2, 4 layers, Q8_0 input): every mix ± imatrix is llama-quantize's file byte for byte",
          arguments: tinyCases)
    func tinyModel(_ golden: MixGolden) throws {
        let scratch = try FixturePaths.scratchDirectory("mix-tiny")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try golden.check(input: FixturePaths.fixture("gguf-mixes/tiny-llama-q8_0.gguf"), scratch: scratch)
    }

    @Test("SmolLM2 (rows of 576: the fallbacks; tied embeddings): F32 from Q4_1, then 8 mixes ± imatrix, each llama-quantize's file byte for byte")
    func smolLM2() throws {
        let model = FixturePaths.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        try #require(FileManager.default.fileExists(atPath: model), "\(model) is missing: run `make test`, which fetches it")
        let scratch = try FixturePaths.scratchDirectory("mix-smollm2")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // The F32 input is llama-quantize's own F32 requantization of the Q4_1 file; ours must be it exactly.
        let f32 = scratch + "/smollm2-f32.gguf"
        _ = try GGUFQuantizer.quantize(input: model, output: f32, options: GGUFQuantizeOptions(mix: MixOptions(fileType: .f32)))
        let reference = try MixGolden(model: "smollm2", mix: "F32", withImatrix: false).expected()
        try #require(try SHA256.hex(file: f32) == reference.sha256, "our F32 of SmolLM2 is not llama-quantize's")
        for mix in Self.smolMixes {
            for withImatrix in [false, true] {
                try MixGolden(model: "smollm2", mix: mix, withImatrix: withImatrix).check(input: f32, scratch: scratch)
            }
        }
    }
}
