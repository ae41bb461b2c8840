import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// Special tokens, BOS/EOS and decoding of specials.
@Suite("Tokenizer special tokens")
struct TokenizerSpecialTokenTests {
    static func chat() throws -> (text: String, parsed: [Int32], plain: [Int32], hf: [Int32]) {
        let chat = try TokenizerFixtures.json("special/chat.json")
        func ids(_ key: String) throws -> [Int32] {
            try #require(chat[key]?.arrayValue).compactMap { $0.intValue.map(Int32.init) }
        }
        return (try #require(chat["text"]?.stringValue), try ids("llama_parse_special"),
                try ids("llama_no_parse_special"), try ids("hf"))
    }

    @Test("Chat text equals llama-tokenize with and without --no-parse-special")
    func chatEqualsLlamaCpp() throws {
        let golden = try Self.chat()
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        #expect(tokenizer.encode(golden.text, parseSpecial: true) == golden.parsed)
        #expect(tokenizer.encode(golden.text, parseSpecial: false) == golden.plain)
        #expect(golden.parsed != golden.plain)
    }

    @Test("Chat text equals HF tokenizers (added tokens always matched)")
    func chatEqualsHuggingFace() throws {
        let golden = try Self.chat()
        let tokenizer = try TokenizerFixtures.smolFromHuggingFace()
        #expect(tokenizer.encode(golden.text, parseSpecial: true) == golden.hf)
    }

    @Test("Decoding writes control tokens verbatim unless skipped")
    func decodeSpecials() throws {
        let golden = try Self.chat()
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        #expect(try tokenizer.decode(golden.parsed) == golden.text)
        let skipped = try tokenizer.decode(golden.parsed, skipSpecialTokens: true)
        #expect(!skipped.contains("<|im_start|>") && skipped.contains("You are a helpful AI assistant."))
        #expect(throws: TokenizerError.decodeIDOutOfRange(id: 49152, vocabularySize: 49152)) {
            try tokenizer.decode([49152])
        }
    }

    /// A vocabulary of the 256 alphabet characters plus specials, no merges: every byte is one id.
    static func alphabetTokenizer(extra: [(String, Int32)], specialTokens: [SpecialToken] = [],
                                  addBOS: Bool = false, addEOS: Bool = false) throws -> BPETokenizer {
        var vocabulary = (0 ..< 256).map { ByteLevelAlphabet.encode([UInt8($0)]) }
        var types = [Int32](repeating: 1, count: 256)
        for (text, type) in extra {
            vocabulary.append(text)
            types.append(type)
        }
        return try BPETokenizer(vocabulary: vocabulary, merges: [(String, String)](), tokenTypes: types,
                                specialTokens: specialTokens, bosTokenID: 256, eosTokenID: 256, addBOS: addBOS,
                                addEOS: addEOS, preTokenizer: .gpt2)
    }

    static func byteIDs(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    @Test("User-defined tokens are matched even when specials are not parsed; control tokens only when asked")
    func userDefinedVersusControl() throws {
        let tokenizer = try Self.alphabetTokenizer(extra: [("<ctl>", 3), ("<tag>", 4)])
        let text = "a<tag>b<ctl>"
        #expect(tokenizer.encode(text, parseSpecial: false) == Self.byteIDs("a") + [257] + Self.byteIDs("b<ctl>"))
        #expect(tokenizer.encode(text, parseSpecial: true) == Self.byteIDs("a") + [257] + Self.byteIDs("b") + [256])
    }

    @Test("Longer special tokens win over shorter ones they contain")
    func longestFirst() throws {
        let tokenizer = try Self.alphabetTokenizer(extra: [("<x>", 3), ("<x><y>", 3)])
        #expect(tokenizer.encode("<x><y><x>", parseSpecial: true) == [257, 256])
        #expect(tokenizer.encode("<x<x>", parseSpecial: true) == Self.byteIDs("<x") + [256])
    }

    @Test("lstrip / rstrip swallow the whitespace beside the token")
    func strip() throws {
        let tokenizer = try Self.alphabetTokenizer(extra: [("<m>", 4)], specialTokens: [
            SpecialToken(id: 256, text: "<m>", kind: .userDefined, stripLeft: true, stripRight: true),
        ])
        #expect(tokenizer.encode("a \t<m>\n b") == Self.byteIDs("a") + [256] + Self.byteIDs("b"))
    }

    @Test("BOS/EOS are added only with addSpecial")
    func bosAndEos() throws {
        let tokenizer = try Self.alphabetTokenizer(extra: [("<s>", 3)], addBOS: true, addEOS: true)
        #expect(tokenizer.encode("hi", addSpecial: true) == [256] + Self.byteIDs("hi") + [256])
        #expect(tokenizer.encode("hi", addSpecial: false) == Self.byteIDs("hi"))
        #expect(tokenizer.encode("", addSpecial: true) == [256, 256])
    }

    @Test("llama3 pre names default add_bos to true; the file's add_bos_token wins")
    func llamaCppAddBOSDefault() throws {
        var vocab = try TokenizerFixtures.ggufVocab()
        #expect(try vocab.tokenizer(pre: "llama-bpe").encode("hi").first != 1)
        vocab.addBOS = nil
        #expect(try vocab.tokenizer(pre: "llama-bpe").encode("hi").first == 1)
        #expect(try vocab.tokenizer(pre: "smollm").encode("hi").first != 1)
    }
}
