import Foundation
import QuantaCore
@testable import QuantaKit
import Testing

/// `quanta tokenize` against ids made by llama-tokenize and transformers (fixtures/make_tokenizer.py,
/// special/chat.json), and its output in llama-tokenize's exact format.
@Suite("quanta tokenize")
struct TokenizeCommandTests {
    static let directory = FixturePaths.fixture("tokenizer/hf-smollm2")

    static func chat() throws -> (text: String, parsed: [Int32], unparsed: [Int32], hf: [Int32]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("tokenizer/special/chat.json")))
        let root = try JSONParser.parse(Array(data), context: "chat.json")
        func ids(_ key: String) throws -> [Int32] { try #require(root[key]?.arrayValue).map { Int32(try #require($0.intValue)) } }
        return (try #require(root["text"]?.stringValue), try ids("llama_parse_special"), try ids("llama_no_parse_special"), try ids("hf"))
    }

    @Test("a directory's tokenizer.json on the chat text: llama-tokenize's ids with and without --no-parse-special, and transformers'")
    func chatIDs() throws {
        let chat = try Self.chat()
        let parsed = try TokenizeCommand.run(model: Self.directory, textPath: nil, text: chat.text, options: .init())
        #expect(parsed.ids == chat.parsed)
        #expect(parsed.ids == chat.hf)
        var plain = TokenizeCommand.Options()
        plain.parseSpecial = false
        #expect(try TokenizeCommand.run(model: Self.directory, textPath: nil, text: chat.text, options: plain).ids == chat.unparsed)
    }

    @Test("output as llama-tokenize prints it: `%6d -> '<piece>'` lines of raw bytes, --ids as [a, b], JSON with ids and count")
    func formats() throws {
        let result = try TokenizeCommand.run(model: Self.directory, textPath: nil, text: "<|im_start|>Hi ñ", options: .init())
        #expect(result.ids.first == 1)
        let lines = String(decoding: result.llamaTokenizeLines(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "     1 -> '<|im_start|>'")
        #expect(lines.count == result.ids.count + 1 && lines.last == "")
        // Pieces are bytes: ñ may be split over two byte-level tokens, so only their concatenation is UTF-8.
        #expect(String(decoding: result.pieces.flatMap { $0 }, as: UTF8.self) == "<|im_start|>Hi ñ")
        #expect(result.idsLine() == "[" + result.ids.map(String.init).joined(separator: ", ") + "]")
        let json = try JSONParser.parse(result.json(), context: "json")
        #expect(json["count"]?.intValue == result.ids.count)
        #expect(json["ids"]?.arrayValue?.count == result.ids.count)
    }

    @Test("errors name what is wrong: a missing model, a directory without tokenizer.json, text that is not UTF-8")
    func errors() throws {
        let scratch = try FixturePaths.scratchDirectory("tokenize")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        #expect { try TokenizeCommand.run(model: scratch + "/nope", textPath: nil, text: "x", options: .init()) } throws: { error in
            "\(error)".contains("model \(scratch)/nope: no such file or directory")
        }
        #expect { try TokenizeCommand.run(model: scratch, textPath: nil, text: "x", options: .init()) } throws: { error in
            "\(error)".contains("holds no tokenizer.json")
        }
        let bad = scratch + "/bad.txt"
        try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: bad))
        #expect { try TokenizeCommand.run(model: Self.directory, textPath: bad, options: .init()) } throws: { error in
            "\(error)".contains("bad.txt: the text is not valid UTF-8")
        }
    }
}
