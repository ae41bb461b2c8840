import Foundation
import QuantaCore
@testable import QuantaEngine

/// Loads the tokenizer fixtures (fixtures/tokenizer, made by fixtures/make_tokenizer.py).
enum TokenizerFixtures {
    static func path(_ relative: String) -> String { FixturePaths.fixture("tokenizer/" + relative) }

    static func json(_ relative: String) throws -> JSONValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return try JSONParser.parse([UInt8](data), context: relative)
    }

    /// Raw little-endian u16 ids.
    static func u16IDs(_ relative: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return stride(from: 0, to: data.count - 1, by: 2).map { offset in
            Int32(UInt16(data[data.startIndex + offset]) | UInt16(data[data.startIndex + offset + 1]) << 8)
        }
    }

    /// A text of the repository's data/ folder.
    static func dataText(_ name: String) throws -> String {
        let url = FixturePaths.root.appendingPathComponent("data/\(name).txt")
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    static let texts = ["wikitext-2-raw-test", "tinyshakespeare"]

    /// SmolLM2's GGUF tokenizer metadata as gguf-py read it.
    struct GGUFVocab {
        var pre: String
        var model: String
        var tokens: [String]
        var tokenTypes: [Int32]
        var merges: [String]
        var bos: Int?
        var eos: Int?
        var unk: Int?
        var pad: Int?
        var addBOS: Bool?
        var addEOS: Bool?

        func tokenizer(pre overridePre: String? = nil) throws -> BPETokenizer {
            try BPETokenizer.fromGGUFMetadata(
                model: model, pre: overridePre ?? pre, tokens: tokens, tokenTypes: tokenTypes, merges: merges,
                bosTokenID: bos, eosTokenID: eos, unknownTokenID: unk, paddingTokenID: pad, addBOS: addBOS,
                addEOS: addEOS)
        }
    }

    /// Parsed once per test process (the JSON is 1.2 MB).
    private static let cachedGGUFVocab = Result { try loadGGUFVocab() }
    private static let cachedSmolGGUF = Result { try cachedGGUFVocab.get().tokenizer() }
    private static let cachedSmolHF = Result {
        try BPETokenizer.fromHuggingFace(tokenizerJSON: path("hf-smollm2/tokenizer.json"),
                                         tokenizerConfig: path("hf-smollm2/tokenizer_config.json"))
    }

    static func ggufVocab() throws -> GGUFVocab { try cachedGGUFVocab.get() }

    private static func loadGGUFVocab() throws -> GGUFVocab {
        let root = try json("smollm2-vocab.json")
        func strings(_ key: String) -> [String] { root[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        return GGUFVocab(
            pre: root["pre"]?.stringValue ?? "", model: root["model"]?.stringValue ?? "",
            tokens: strings("tokens"),
            tokenTypes: root["token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) } ?? [],
            merges: strings("merges"), bos: root["bos_token_id"]?.intValue, eos: root["eos_token_id"]?.intValue,
            unk: root["unknown_token_id"]?.intValue, pad: root["padding_token_id"]?.intValue,
            addBOS: root["add_bos_token"]?.boolValue, addEOS: root["add_eos_token"]?.boolValue)
    }

    static func smolFromGGUF() throws -> BPETokenizer { try cachedSmolGGUF.get() }

    static func smolFromHuggingFace() throws -> BPETokenizer { try cachedSmolHF.get() }

    /// Index and a window of both lists around the first difference, for a readable failure.
    static func firstDifference(_ actual: [Int32], _ expected: [Int32]) -> String? {
        guard actual != expected else { return nil }
        let index = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(actual.count, expected.count)
        let window = max(0, index - 5) ..< index + 5
        return "first difference at \(index) (counts \(actual.count) vs \(expected.count)): "
            + "ours \(Array(actual[window.clamped(to: 0 ..< actual.count)])) "
            + "expected \(Array(expected[window.clamped(to: 0 ..< expected.count)]))"
    }
}
