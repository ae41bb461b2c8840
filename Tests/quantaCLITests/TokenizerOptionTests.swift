import Foundation
import Testing

/// `--tokenizer PATH` and the baseline fallback: a checkpoint saved without tokenizer files is
/// evaluated with another model's tokenizer, exactly as if the files were in its directory.
@Suite struct TokenizerOptionTests {
    /// GPT-2's byte → printable-character table (the ByteLevel pre-tokenizer's alphabet).
    static let byteCharacters: [String] = {
        var printable = Array(33 ... 126) + Array(161 ... 172) + Array(174 ... 255)
        var characters = [Int: Int]()
        for b in printable { characters[b] = b }
        var next = 256
        for b in 0 ... 255 where characters[b] == nil {
            characters[b] = next
            next += 1
        }
        printable.removeAll()
        return (0 ... 255).map { String(UnicodeScalar(UInt32(characters[$0]!))!) }
    }()

    /// A byte-level BPE with 260 ids (the fixture model's vocabulary is 320): <|endoftext|>, the
    /// 256 byte characters, and three merges.
    static func tokenizerJSON() throws -> Data {
        var vocab: [String: Int] = ["<|endoftext|>": 0]
        for (i, c) in byteCharacters.enumerated() { vocab[c] = i + 1 }
        let merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"]]
        for (i, m) in merges.enumerated() { vocab[m[0] + m[1]] = 257 + i }
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": [["id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": true]],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    }

    /// (model directory with the tokenizer, the same weights without it, the text file).
    static func setUp() throws -> (withTokenizer: String, without: String, text: String) {
        let root = try FixturePaths.scratchDirectory("quanta-tokenizer-option")
        let source = FixturePaths.fixture("engine/tiny-llama")
        let with = root + "/with", without = root + "/without"
        for dir in [with, without] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for file in ["config.json", "model.safetensors"] { try TestFiles.copy(source + "/" + file, to: dir + "/" + file) }
        }
        try TestFiles.write(try tokenizerJSON(), to: with + "/tokenizer.json")
        let text = root + "/text.txt"
        let sentence = "the theory of the thing is that the tea is hot, then the other tide turns. "
        try TestFiles.write(Data(String(repeating: sentence, count: 12).utf8), to: text)
        return (with, without, text)
    }

    static func ppl(_ result: QuantaResult) throws -> Double {
        try #require(result.exitCode == 0, "\(result)")
        return try #require(try result.jsonObject()["ppl"] as? Double, "\(result)")
    }

    @Test("--tokenizer DIR or FILE gives the report the model gives with the files in its directory")
    func overrideMatchesOwnTokenizer() throws {
        let (with, without, text) = try Self.setUp()
        let common = ["--text", text, "--ctx", "32", "--chunks", "3", "--json", "--quiet"]
        let own = try Self.ppl(try QuantaCLI.run(["eval", with] + common))
        for source in [with, with + "/tokenizer.json"] {
            let run = try QuantaCLI.run(["eval", without, "--tokenizer", source] + common)
            #expect(try Self.ppl(run) == own, "\(run)")
            #expect(run.stderr.contains("note: using the tokenizer of \(source)"), "\(run)")
        }
    }

    @Test("with --baseline and no tokenizer in the model, the baseline's is used and the note says so")
    func baselineFallback() throws {
        let (with, without, text) = try Self.setUp()
        let run = try QuantaCLI.run(["eval", without, "--baseline", with, "--text", text, "--ctx", "32", "--chunks", "2", "--json", "--quiet"])
        let report = try run.jsonObject()
        #expect(run.exitCode == 0, "\(run)")
        #expect(report["kld_mean"] as? Double == 0, "\(run)")
        #expect(run.stderr.contains("carries no tokenizer; using the baseline's (\(with))"), "\(run)")
    }

    @Test("no tokenizer anywhere, a wrong path, or a tokenizer too big for the model: a clear error, exit non-zero")
    func refusals() throws {
        let (_, without, text) = try Self.setUp()
        let none = try QuantaCLI.run(["eval", without, "--text", text, "--ctx", "32", "--quiet"])
        #expect(none.exitCode != 0 && none.stderr.contains("carries no tokenizer") && none.stderr.contains("--tokenizer PATH"), "\(none)")
        let missing = try QuantaCLI.run(["eval", without, "--tokenizer", without + "/nope", "--text", text, "--quiet"])
        #expect(missing.exitCode != 0 && missing.stderr.contains("--tokenizer \(without)/nope: no such file"), "\(missing)")
        let empty = try QuantaCLI.run(["eval", without, "--tokenizer", without, "--text", text, "--quiet"])
        #expect(empty.exitCode != 0 && empty.stderr.contains("holds no tokenizer.json"), "\(empty)")
        // SmolLM2's 49152-token vocabulary does not fit the fixture's 320 embedding rows.
        let big = try QuantaCLI.run(["eval", without, "--tokenizer", FixturePaths.fixture("tokenizer/hf-smollm2"), "--text", text, "--ctx", "32", "--quiet"])
        #expect(big.exitCode != 0 && big.stderr.contains("outside the vocabulary (320)"), "\(big)")
        #expect(big.exitedNormally && missing.exitedNormally && none.exitedNormally)
    }
}
