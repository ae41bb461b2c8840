import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// tokenizer.json options beyond SmolLM2's: NFC normalizer (Qwen2), ByteLevel add_prefix_space,
/// merges as pairs, ignore_merges.
@Suite("Tokenizer tokenizer.json options")
struct TokenizerHuggingFaceOptionsTests {
    /// The 256 alphabet characters as ids 0…255 (id = byte), plus "ab" = 256 made by the one merge.
    static func alphabetJSON(normalizer: String = "null", addPrefixSpace: Bool = false,
                             merges: String = #"[["a","b"]]"#, ignoreMerges: Bool = false) throws -> JSONValue {
        var vocab = JSONObject()
        for byte in 0 ..< 256 { vocab[ByteLevelAlphabet.encode([UInt8(byte)])] = .int(Int64(byte)) }
        vocab["ab"] = .int(256)
        vocab["abab"] = .int(257)
        let text = """
        {"model":{"type":"BPE","vocab":\(JSONWriter.compact(.object(vocab))),"merges":\(merges),
        "ignore_merges":\(ignoreMerges)},
        "normalizer":\(normalizer),
        "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":\(addPrefixSpace),"use_regex":true},
        "added_tokens":[{"id":258,"content":"<x>","special":true,"lstrip":false,"rstrip":false}]}
        """
        return try JSONParser.parse(text, context: "alphabet tokenizer.json")
    }

    static func bytes(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    @Test("NFC normalizer composes before splitting")
    func nfc() throws {
        let plain = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.alphabetJSON())
        let nfc = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.alphabetJSON(normalizer: #"{"type":"NFC"}"#))
        #expect(plain.encode("e\u{301}") == [0x65, 0xCC, 0x81])
        #expect(nfc.encode("e\u{301}") == [0xC3, 0xA9])
    }

    @Test("add_prefix_space puts a space before each fragment that lacks one")
    func prefixSpace() throws {
        let tokenizer = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.alphabetJSON(addPrefixSpace: true))
        #expect(tokenizer.encode("hi") == Self.bytes(" hi"))
        #expect(tokenizer.encode(" hi") == Self.bytes(" hi"))
        #expect(tokenizer.encode("x<x>y", parseSpecial: true) == Self.bytes(" x") + [258] + Self.bytes(" y"))
    }

    @Test("Merges given as pairs apply; ignore_merges takes whole words from the vocabulary")
    func mergesAndIgnoreMerges() throws {
        let merged = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.alphabetJSON())
        #expect(merged.encode("abab") == [256, 256])
        let whole = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.alphabetJSON(ignoreMerges: true))
        #expect(whole.encode("abab") == [257])
    }
}
