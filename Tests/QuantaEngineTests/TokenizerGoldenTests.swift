import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// Whole-text goldens: llama-tokenize and HF tokenizers on wikitext-2 test and tiny shakespeare.
@Suite("Tokenizer goldens")
struct TokenizerGoldenTests {
    @Test("GGUF metadata path equals llama-tokenize on the whole text", arguments: TokenizerFixtures.texts)
    func ggufPathEqualsLlamaCpp(_ name: String) throws {
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        let manifest = try TokenizerFixtures.json("ids/manifest.json")
        let file = try #require(manifest[name]?["llama"]?["file"]?.stringValue)
        let expected = try TokenizerFixtures.u16IDs(file)
        #expect(expected.count == manifest[name]?["llama"]?["count"]?.intValue)
        // llama-perplexity's settings: add_special true, parse_special false.
        let ids = tokenizer.encode(try TokenizerFixtures.dataText(name), addSpecial: true, parseSpecial: false)
        #expect(ids == expected, "\(TokenizerFixtures.firstDifference(ids, expected) ?? "")")
    }

    @Test("tokenizer.json path equals HF tokenizers on the whole text", arguments: TokenizerFixtures.texts)
    func huggingFacePathEqualsTokenizers(_ name: String) throws {
        let tokenizer = try TokenizerFixtures.smolFromHuggingFace()
        let manifest = try TokenizerFixtures.json("ids/manifest.json")
        let file = try #require(manifest[name]?["hf"]?["file"]?.stringValue)
        let expected = try TokenizerFixtures.u16IDs(file)
        #expect(expected.count == manifest[name]?["hf"]?["count"]?.intValue)
        let ids = tokenizer.encode(try TokenizerFixtures.dataText(name), addSpecial: true, parseSpecial: true)
        #expect(ids == expected, "\(TokenizerFixtures.firstDifference(ids, expected) ?? "")")
    }

    @Test("The transformers GGUF import loses smollm's digit split: its ids differ from llama.cpp's")
    func goldensDifferWhereDigitSplitMatters() throws {
        let manifest = try TokenizerFixtures.json("ids/manifest.json")
        let llama = try TokenizerFixtures.u16IDs(try #require(manifest["wikitext-2-raw-test"]?["llama"]?["file"]?.stringValue))
        let hf = try TokenizerFixtures.u16IDs(try #require(manifest["wikitext-2-raw-test"]?["hf"]?["file"]?.stringValue))
        #expect(llama != hf)
        // Our two paths must reproduce that difference, not paper over it.
        let text = try TokenizerFixtures.dataText("wikitext-2-raw-test")
        let fromGGUF = try TokenizerFixtures.smolFromGGUF().encode(text)
        let fromJSON = try TokenizerFixtures.smolFromHuggingFace().encode(text, parseSpecial: true)
        #expect(fromGGUF != fromJSON)
    }

    @Test("decode(encode(text)) gives the text back", arguments: TokenizerFixtures.texts)
    func roundTrip(_ name: String) throws {
        let text = try TokenizerFixtures.dataText(name)
        for tokenizer in [try TokenizerFixtures.smolFromGGUF(), try TokenizerFixtures.smolFromHuggingFace()] {
            let decoded = try tokenizer.decode(tokenizer.encode(text))
            #expect(decoded == text)
        }
    }

    @Test("decode of the mixed unicode text round-trips through both paths")
    func roundTripMixed() throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: TokenizerFixtures.path("pretokenizer/mixed.txt"))),
                          as: UTF8.self)
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
    }

    @Test("Parallel encoding equals encoding each half on one thread")
    func parallelEqualsSerial() throws {
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        let text = try TokenizerFixtures.dataText("tinyshakespeare")
        let words = tokenizer.preTokenize(text, parseSpecial: false)
        var serial: [Int32] = []
        var encoder = BPEWordEncoder(table: tokenizer.mergeTable)
        words.bytes.withUnsafeBufferPointer { bytes in
            for piece in words.pieces {
                if piece.token >= 0 { serial.append(piece.token); continue }
                encoder.encode(UnsafeBufferPointer(rebasing: bytes[piece.start ..< piece.end]), into: &serial)
            }
        }
        #expect(tokenizer.encodeWords(words) == serial)
    }
}
