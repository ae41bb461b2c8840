import Foundation
import QuantaCore
import QuantaGraph
@testable import QuantaKit
import Testing

/// The llama.cpp pre-tokenizer name of a tokenizer.json, chosen as convert_hf_to_gguf.py chooses it:
/// sha256 of str(ids of its probe text), looked up in its table; structure as the fallback.
@Suite("llama.cpp pre-tokenizer names")
struct LlamaCppPreTokenizerTests {
    static func sideFiles(editing edit: ((inout [String: Any]) -> Void)? = nil) throws -> [SideFile] {
        let folder = FixturePaths.fixture("tokenizer/hf-smollm2")
        var json = try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer.json"))
        if let edit {
            var root = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
            edit(&root)
            json = try JSONSerialization.data(withJSONObject: root)
        }
        let config = try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer_config.json"))
        return [SideFile(name: "tokenizer.json", contents: Array(json)), SideFile(name: "tokenizer_config.json", contents: Array(config))]
    }

    @Test("chkhsh is sha256 of the ids written as Python's str(list) (values from hashlib)")
    func hashFormat() {
        #expect(LlamaCppPreTokenizer.chkhsh([1, 2]) == "3a316d6d3226f84c1e46e4447fa8d5fd800bff4a1bc6498152523cd4a602b69b")
        #expect(LlamaCppPreTokenizer.chkhsh([]) == "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945")
    }

    @Test("SmolLM2's tokenizer.json (transformers') hashes to llama.cpp's entry for SmolLM: 'smollm'")
    func smollm() throws {
        let tokenizer = try #require(try Evaluator.makeTokenizer(sideFiles: try Self.sideFiles(), gguf: nil))
        let found = LlamaCppPreTokenizer.identify(tokenizer)
        // transformers 5.23 on fixtures/tokenizer/hf-smollm2 gives this hash for the probe text (230 ids).
        #expect(found.hash == "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249")
        #expect(found.name == "smollm")
        var data = try #require(try TokenizerFiles.tokenizerData(from: try Self.sideFiles()))
        try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? Evaluator.makeTokenizer(sideFiles: try Self.sideFiles(), gguf: nil), place: "test")
        #expect(data.pre == "smollm")
    }

    @Test("the table is llama.cpp's: its probe text and well-known entries")
    func table() {
        #expect(LlamaCppPreTokenizerTable.names.count > 90)
        #expect(LlamaCppPreTokenizerTable.names["3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454"] == "gpt-2")
        #expect(LlamaCppPreTokenizerTable.names["0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5"] == "llama-bpe")
        #expect(LlamaCppPreTokenizerTable.probeText.hasPrefix("\n \n\n \n\n\n \t \t\t \t\n"))
        #expect(LlamaCppPreTokenizerTable.probeText.hasSuffix("We'Ve a'lL"))
    }

    @Test("SmolLM2's tokenizer.json as transformers writes it has a plain ByteLevel pre-tokenizer, yet hashes as 'smollm' (its vocabulary has no multi-digit tokens), as convert_hf_to_gguf.py names it")
    func byteLevelSmolLM() throws {
        let root = try JSONParser.parse(try Self.sideFiles()[0].contents, context: "tokenizer.json")
        #expect(root["pre_tokenizer"]?["type"]?.stringValue == "ByteLevel")
        var data = try #require(try TokenizerFiles.tokenizerData(from: try Self.sideFiles()))
        #expect(data.pre == "gpt-2")   // the structure alone says gpt-2 …
        try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? Evaluator.makeTokenizer(sideFiles: try Self.sideFiles(), gguf: nil), place: "test")
        #expect(data.pre == "smollm")  // … llama.cpp's table says smollm
    }

    @Test("a vocabulary llama.cpp has never seen with a ByteLevel pre-tokenizer: no table entry, the structure names it 'gpt-2'")
    func byteLevelFallback() throws {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}"#
        let files = [SideFile(name: "tokenizer.json", contents: Array(json.utf8))]
        var data = try #require(try TokenizerFiles.tokenizerData(from: files))
        if let tokenizer = try? Evaluator.makeTokenizer(sideFiles: files, gguf: nil) {
            #expect(LlamaCppPreTokenizer.identify(tokenizer).name == nil)
        }
        try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? Evaluator.makeTokenizer(sideFiles: files, gguf: nil), place: "model dir x")
        #expect(data.pre == "gpt-2")
    }

    @Test("a pre-tokenizer neither the table nor the structure knows stops the GGUF conversion, naming the model")
    func unknown() throws {
        let files = try Self.sideFiles { root in
            root["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": "\\p{N}"], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ]]
        }
        var data = try #require(try TokenizerFiles.tokenizerData(from: files))
        #expect(data.pre == nil)
        #expect { try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? Evaluator.makeTokenizer(sideFiles: files, gguf: nil), place: "model dir x") } throws: { error in
            "\(error)".contains("model dir x") && "\(error)".contains("--no-tokenizer")
        }
    }
}
