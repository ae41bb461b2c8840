import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// Word splitting per pre-tokenizer variant, against HF tokenizers' pre-tokenizers and llama-tokenize.
@Suite("Tokenizer pre-tokenizers")
struct TokenizerPreTokenizerTests {
    static let variants: [(kind: PreTokenizerKind, llamaCppPre: String)] = [
        (.gpt2, "gpt-2"), (.smollm, "smollm"), (.llama3, "llama-bpe"), (.qwen2, "qwen2"),
    ]

    static func mixedText() throws -> String {
        let url = URL(fileURLWithPath: TokenizerFixtures.path("pretokenizer/mixed.txt"))
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    @Test("Pieces equal HF tokenizers' pre_tokenize_str", arguments: variants.map(\.kind))
    func piecesEqualHuggingFace(_ kind: PreTokenizerKind) throws {
        let splits = try TokenizerFixtures.json("pretokenizer/splits.json")
        let golden = try #require(splits[kind.rawValue])
        let expected = try #require(golden["pieces"]?.arrayValue).compactMap(\.stringValue)
        let pre = try #require(golden["llama_cpp_pre"]?.stringValue)
        let tokenizer = try TokenizerFixtures.ggufVocab().tokenizer(pre: pre)
        #expect(tokenizer.preTokenizer == kind)
        let pieces = tokenizer.preTokenizedWords(try Self.mixedText()).map { ByteLevelAlphabet.encode(Array($0.utf8)) }
        if pieces != expected {
            let index = zip(pieces, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
            let ours = Array(pieces[index ..< min(pieces.count, index + 4)])
            let theirs = Array(expected[index ..< min(expected.count, index + 4)])
            Issue.record("first differing piece at \(index): ours \(ours) HF \(theirs)")
        }
    }

    @Test("The HF pre_tokenizer configs resolve to the variant", arguments: variants.map(\.kind))
    func huggingFaceConfigResolves(_ kind: PreTokenizerKind) throws {
        let splits = try TokenizerFixtures.json("pretokenizer/splits.json")
        let config = try #require(splits[kind.rawValue]?["pre_tokenizer"])
        let resolved = try HuggingFacePreTokenizer.resolve(config, source: "splits.json")
        #expect(resolved == HuggingFacePreTokenizer.Resolved(kind: kind, addPrefixSpace: false))
    }

    @Test("Ids equal llama-tokenize under each llama.cpp pre type", arguments: variants)
    func idsEqualLlamaCpp(_ variant: (kind: PreTokenizerKind, llamaCppPre: String)) throws {
        let goldens = try TokenizerFixtures.json("pretokenizer/llama-ids.json")
        let golden = try #require(goldens[variant.kind.rawValue])
        #expect(golden["llama_cpp_pre"]?.stringValue == variant.llamaCppPre)
        let expected = try #require(golden["ids"]?.arrayValue).compactMap { $0.intValue.map(Int32.init) }
        let tokenizer = try TokenizerFixtures.ggufVocab().tokenizer(pre: variant.llamaCppPre)
        let ids = tokenizer.encode(try Self.mixedText(), addSpecial: true, parseSpecial: false)
        #expect(ids == expected, "\(TokenizerFixtures.firstDifference(ids, expected) ?? "")")
    }

    @Test("llama.cpp pre names map to their regex set and flags")
    func llamaCppPresets() {
        #expect(PreTokenizerKind.llamaCppPreset(named: "llama-bpe")
            == .init(kind: .llama3, ignoreMerges: true, defaultAddBOS: true))
        #expect(PreTokenizerKind.llamaCppPreset(named: "smollm")
            == .init(kind: .smollm, ignoreMerges: false, defaultAddBOS: false))
        #expect(PreTokenizerKind.llamaCppPreset(named: "qwen2")?.kind == .qwen2)
        #expect(PreTokenizerKind.llamaCppPreset(named: "gpt-2")?.kind == .gpt2)
        #expect(PreTokenizerKind.llamaCppPreset(named: "deepseek-llm") == nil)
        #expect(PreTokenizerKind.llamaCppPreset(named: "default") == nil)
    }

    /// Hand-checked cases of the regex semantics at fragment edges (llama.cpp's out-of-range handling).
    @Test("Edge cases split as the regexes do")
    func edgeCases() throws {
        let vocab = try TokenizerFixtures.ggufVocab()
        let gpt2 = try vocab.tokenizer(pre: "gpt-2"), smollm = try vocab.tokenizer(pre: "smollm")
        let llama3 = try vocab.tokenizer(pre: "llama-bpe"), qwen2 = try vocab.tokenizer(pre: "qwen2")
        #expect(gpt2.preTokenizedWords("a  b") == ["a", " ", " b"])
        #expect(gpt2.preTokenizedWords("x   ") == ["x", "   "])
        #expect(gpt2.preTokenizedWords("it's 12345") == ["it", "'s", " 12345"])
        #expect(smollm.preTokenizedWords("  12") == ["  ", "1", "2"])
        #expect(smollm.preTokenizedWords("a 12") == ["a", " ", "1", "2"])
        #expect(llama3.preTokenizedWords("12345 DON'T") == ["123", "45", " DON", "'T"])
        #expect(llama3.preTokenizedWords("x \n\n y") == ["x", " \n\n", " y"])
        #expect(llama3.preTokenizedWords("(hi)...\n") == ["(hi", ")...\n"])
        #expect(qwen2.preTokenizedWords("x1234") == ["x", "1", "2", "3", "4"])
        #expect(gpt2.preTokenizedWords("") == [])
    }
}
