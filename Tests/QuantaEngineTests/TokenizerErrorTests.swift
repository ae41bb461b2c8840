import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// Unsupported or broken tokenizer descriptions end in errors that name the key.
@Suite("Tokenizer errors")
struct TokenizerErrorTests {
    // MARK: GGUF metadata

    static func gguf(model: String = "gpt2", pre: String?, merges: [String] = ["a b"],
                     types: [Int32]? = nil) throws -> BPETokenizer {
        try BPETokenizer.fromGGUFMetadata(model: model, pre: pre, tokens: ["a", "b", "ab"], tokenTypes: types,
                                          merges: merges)
    }

    @Test("Unknown llama.cpp pre-tokenizer names the key and the name")
    func unknownGGUFPre() throws {
        let error = #expect(throws: TokenizerError.self) { try Self.gguf(pre: "deepseek-llm") }
        #expect(error == .unknownPreTokenizer(source: "GGUF metadata", key: "tokenizer.ggml.pre", name: "deepseek-llm"))
        #expect(error?.description.contains("tokenizer.ggml.pre") == true)
    }

    @Test("Missing pre, non-BPE model, bad merges and short token types are rejected")
    func ggufShapes() throws {
        #expect(throws: TokenizerError.missingKey(source: "GGUF metadata", key: "tokenizer.ggml.pre")) {
            try Self.gguf(pre: nil)
        }
        let model = #expect(throws: TokenizerError.self) { try Self.gguf(model: "llama", pre: "smollm") }
        #expect(model?.description.contains("tokenizer.ggml.model") == true)
        let merge = #expect(throws: TokenizerError.self) { try Self.gguf(pre: "smollm", merges: ["a b", "ab"]) }
        guard case let .invalidMerge(_, index, text, _) = merge else {
            Issue.record("expected invalidMerge, got \(String(describing: merge))")
            return
        }
        #expect(index == 1 && text == "ab")
        let types = #expect(throws: TokenizerError.self) { try Self.gguf(pre: "smollm", types: [1]) }
        #expect(types?.description.contains("tokenizer.ggml.token_type") == true)
    }

    @Test("A small GGUF vocabulary works end to end, merges applied")
    func tinyGGUF() throws {
        let tokenizer = try Self.gguf(pre: "smollm")
        // "ab" merges; "ba" does not; missing alphabet characters fall back to the one-byte pieces found.
        #expect(tokenizer.encode("ab") == [2])
        #expect(tokenizer.encode("ba") == [1, 0])
    }

    // MARK: tokenizer.json

    /// A minimal valid tokenizer.json; `edit` breaks one part of it.
    static func tokenizerJSON(_ edit: (inout [String: String]) -> Void = { _ in }) throws -> JSONValue {
        var parts: [String: String] = [
            "model": #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#,
            "pre_tokenizer": #"{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"#,
            "added_tokens": #"[{"id":3,"content":"<s>","special":true}]"#,
            "normalizer": "null",
            "post_processor": "null",
        ]
        edit(&parts)
        let body = parts.map { "\(JSONWriter.quoted($0.key)):\($0.value)" }.joined(separator: ",")
        return try JSONParser.parse("{\(body)}", context: "test tokenizer.json")
    }

    static func expectHFError(_ json: JSONValue, key: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: TokenizerError.self, sourceLocation: sourceLocation) {
            try BPETokenizer.fromHuggingFace(tokenizerJSON: json, source: "t.json")
        }
        #expect(error?.description.contains(key) == true, "\(String(describing: error)) should name \(key)",
                sourceLocation: sourceLocation)
    }

    @Test("The minimal tokenizer.json loads")
    func minimalLoads() throws {
        let tokenizer = try BPETokenizer.fromHuggingFace(tokenizerJSON: try Self.tokenizerJSON())
        #expect(tokenizer.encode("ab<s>", parseSpecial: true) == [2, 3])
        #expect(tokenizer.vocabularySize == 4)
    }

    @Test("Broken or unsupported tokenizer.json parts name the key")
    func brokenHuggingFace() throws {
        Self.expectHFError(try Self.tokenizerJSON { $0["model"] = #"{"type":"WordPiece","vocab":{}}"# },
                           key: "model.type")
        Self.expectHFError(try Self.tokenizerJSON { $0["model"] = #"{"type":"BPE","merges":[]}"# },
                           key: "model.vocab")
        Self.expectHFError(try Self.tokenizerJSON { $0["model"] = #"{"type":"BPE","vocab":{"a":0}}"# },
                           key: "model.merges")
        Self.expectHFError(try Self.tokenizerJSON { $0["model"] = #"{"type":"BPE","vocab":{"a":"x"},"merges":[]}"# },
                           key: "model.vocab")
        Self.expectHFError(try Self.tokenizerJSON { $0["model"] = #"{"type":"BPE","vocab":{"a":0},"merges":["a c"]}"# },
                           key: "merge #0")
        Self.expectHFError(try Self.tokenizerJSON { $0["pre_tokenizer"] = #"{"type":"Whitespace"}"# },
                           key: "pre_tokenizer.type")
        Self.expectHFError(try Self.tokenizerJSON {
            $0["pre_tokenizer"] = #"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","use_regex":false}]}"#
        }, key: "pre_tokenizer.pretokenizers[0].pattern.Regex")
        Self.expectHFError(try Self.tokenizerJSON { $0["normalizer"] = #"{"type":"NFKC"}"# }, key: "normalizer.type")
        Self.expectHFError(try Self.tokenizerJSON { $0["added_tokens"] = #"[{"content":"<s>"}]"# },
                           key: "added_tokens[0].id")
        Self.expectHFError(try Self.tokenizerJSON { $0["post_processor"] = #"{"type":"BertProcessing"}"# },
                           key: "post_processor.type")
    }

    @Test("Unreadable and malformed files name the path")
    func files() throws {
        let missing = #expect(throws: TokenizerError.self) {
            try BPETokenizer.fromHuggingFace(tokenizerJSON: "/nonexistent/tokenizer.json")
        }
        #expect(missing?.description.contains("/nonexistent/tokenizer.json") == true)
        let directory = try FixturePaths.scratchDirectory("tokenizer-errors")
        let path = directory + "/tokenizer.json"
        try Data("{\"model\": ".utf8).write(to: URL(fileURLWithPath: path))
        let malformed = #expect(throws: (any Error).self) { try BPETokenizer.fromHuggingFace(tokenizerJSON: path) }
        #expect("\(String(describing: malformed))".contains(path))
    }

    @Test("TemplateProcessing BOS and tokenizer_config add_bos_token are honoured")
    func templateAndConfig() throws {
        let withTemplate = try Self.tokenizerJSON {
            $0["post_processor"] = #"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[3],"tokens":["<s>"]}}}"#
        }
        let bos = try BPETokenizer.fromHuggingFace(tokenizerJSON: withTemplate)
        #expect(bos.encode("ab") == [3, 2])
        let config = try JSONParser.parse(#"{"add_bos_token":false,"eos_token":"<s>","add_eos_token":true}"#,
                                          context: "config")
        let configured = try BPETokenizer.fromHuggingFace(tokenizerJSON: withTemplate, tokenizerConfig: config)
        #expect(configured.encode("ab") == [2, 3])
    }
}
