import Foundation
import QuantaCore
import QuantaEngine
import QuantaGraph
@testable import QuantaKit
import Testing

/// Every conversion that writes a tokenizer checks it tokenizes the probe text as the source does.
@Suite("tokenizer fidelity check")
struct TokenizerFidelityTests {
    static func smolFiles(editing edit: ((inout [String: Any]) -> Void)? = nil) throws -> [SideFile] {
        try LlamaCppPreTokenizerTests.sideFiles(editing: edit)
    }

    @Test("the probe holds several scripts, digit runs, whitespace runs, llama.cpp's probe and the vocabulary's special tokens")
    func probe() throws {
        let tokenizer = try #require(try Evaluator.makeTokenizer(sideFiles: try Self.smolFiles(), gguf: nil))
        let text = TokenizerFidelity.probe(for: tokenizer)
        for needle in ["Русский", "日本語", "العربية", "1,234,567", "\t\t", "\r\n", "   three", "<|im_start|>", LlamaCppPreTokenizerTable.probeText] {
            #expect(text.contains(needle), "\(needle)")
        }
    }

    @Test("a merge missing on one side: the check names the first differing token, both ids and pieces")
    func mergeRemoved() throws {
        let source = try #require(try Evaluator.makeTokenizer(sideFiles: try Self.smolFiles(), gguf: nil))
        // Drop the merge that makes "Hello" (the probe's first word) so the broken side splits it.
        let files = try Self.smolFiles { root in
            guard var model = root["model"] as? [String: Any], var merges = model["merges"] as? [Any] else { return }
            merges.removeAll { merge in
                let text = (merge as? String) ?? ((merge as? [String])?.joined(separator: " ") ?? "")
                return text == "Hel lo" || text == "H ello" || text == "He llo" || text == "Hell o"
            }
            model["merges"] = merges
            root["model"] = model
        }
        let broken = try #require(try Evaluator.makeTokenizer(sideFiles: files, gguf: nil))
        #expect(broken.encode("Hello") != source.encode("Hello"))
        #expect { try TokenizerFidelity.check(source: source, sourceName: "src", output: broken, outputName: "out") } throws: { error in
            let text = "\(error)"
            return text.contains("at token 0") && text.contains("out tokenizes the probe text differently from src")
                && text.contains("\"Hello\"") && text.contains("nothing was written")
        }
        try TokenizerFidelity.check(source: source, sourceName: "src", output: source, outputName: "same")
    }

    @Test("HF → GGUF: a ByteLevel pre-tokenizer with add_prefix_space (which llama.cpp's 'gpt-2' does not do) is refused, nothing written; --skip-tokenizer-check writes")
    func prefixSpaceRefused() throws {
        let scratch = try FixturePaths.scratchDirectory("fidelity")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = scratch + "/in"
        try FileManager.default.copyItem(atPath: FixturePaths.fixture("engine/tiny-llama"), toPath: input)
        let files = try Self.smolFiles { root in
            root["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]
        }
        for file in files { try Data(file.contents).write(to: URL(fileURLWithPath: input + "/" + file.name)) }
        var options = ConvertOptions(from: nil, to: .gguf)
        #expect { _ = try Converter.convert(input: input, output: scratch + "/out.gguf", options: options) } throws: { error in
            guard case KitError.tokenizerMismatch = error else { return false }
            return "\(error)".contains("tokenizer.json of")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch + "/out.gguf"))
        options.skipTokenizerCheck = true
        _ = try Converter.convert(input: input, output: scratch + "/out.gguf", options: options)
        #expect(FileManager.default.fileExists(atPath: scratch + "/out.gguf"))
    }

    @Test("faithful conversions pass: SmolLM2's tokenizer.json → GGUF, and the GGUF's vocabulary → tokenizer.json")
    func faithful() throws {
        var data = try #require(try TokenizerFiles.tokenizerData(from: try Self.smolFiles()))
        try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? Evaluator.makeTokenizer(sideFiles: try Self.smolFiles(), gguf: nil), place: "smol")
        let files = try Self.smolFiles()
        try GGUFRequirements.checkFidelity(data, source: Result { try Evaluator.makeTokenizer(sideFiles: files, gguf: nil) }, place: "smol")
        var gguf = ModelGraph(architecture: .llama, tokenizer: data, nodes: [], source: "smol.gguf")
        try Converter.attachTokenizerFiles(&gguf, skipCheck: false)
        #expect(gguf.sideFiles.contains { $0.name == "tokenizer.json" })   // made once: the writer takes these
    }

    @Test("GGUF → tokenizer.json: a vocabulary whose pre-tokenizer has no tokenizer.json form here is refused before writing, naming it (every HF writer runs the check: convert, nf4/int8, GPTQ, AWQ)")
    func unrunnableGGUFVocabulary() throws {
        var data = try #require(try TokenizerFiles.tokenizerData(from: try Self.smolFiles()))
        data.pre = "deepseek-llm"
        var graph = ModelGraph(architecture: .llama, tokenizer: data, nodes: [], source: "x.gguf")
        #expect { try Converter.attachTokenizerFiles(&graph, skipCheck: false) } throws: { error in "\(error)".contains("'deepseek-llm'") }
    }
}
