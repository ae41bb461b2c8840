import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph

/// What a GGUF needs before llama.cpp can load it, checked before anything is written: an
/// architecture whose llama.cpp tensor names Quanta knows (`Architectures/`), and a tokenizer —
/// llama.cpp's loader (llama-vocab.cpp `impl::load`) requires `tokenizer.ggml.model` — unless the
/// caller said `--no-tokenizer`. A raw tensor map (`.unknown`) still converts between safetensors
/// and PyTorch; it only never becomes a GGUF.
enum GGUFRequirements {
    /// What llama.cpp reads as "this model has no vocabulary" (`LLAMA_VOCAB_TYPE_NONE`): written
    /// with `--no-tokenizer`, so the file still loads (convert_hf_to_gguf.py `_set_vocab_none`).
    static let noVocabularyModel = "none"

    /// Refuses a graph whose architecture has no llama.cpp name table here.
    static func checkArchitecture(_ graph: ModelGraph) throws {
        guard graph.architecture.spec == nil || graph.hyperparameters == nil else { return }
        let refusal = "refusing to write a GGUF llama.cpp cannot load"
        if let gguf = graph.ggufMetadata {
            let name = gguf.first { $0.key == "general.architecture" }.flatMap { value -> String? in
                if case let .string(text) = value.value { return text }
                return nil
            }
            throw KitError.ggufNotLoadable(name.map { "GGUF architecture '\($0)' of \(graph.source) has no llama.cpp tensor-name mapping in Quanta: \(refusal)" }
                ?? "\(graph.source) has no general.architecture: \(refusal)")
        }
        guard let config = graph.config else {
            throw KitError.ggufNotLoadable("\(graph.source) has no config.json, so its architecture (and llama.cpp's names for its tensors) is unknown: \(refusal)")
        }
        let name = config["architectures"]?.arrayValue?.first?.stringValue ?? config["model_type"]?.stringValue ?? "(none named)"
        let known = Architecture.allCases.compactMap(\.spec).flatMap(\.huggingFaceClasses).joined(separator: ", ")
        throw KitError.ggufNotLoadable("architecture '\(name)' has no llama.cpp tensor-name mapping in Quanta: \(refusal) (mapped: \(known))")
    }

    /// The tokenizer to write for a graph built from Hugging Face files, or nil with `noTokenizer`.
    /// Throws, saying what is missing, when there is none this build can convert.
    /// Unless `skipCheck`, the converted vocabulary must tokenize as tokenizer.json does (`TokenizerFidelity`).
    static func tokenizer(for graph: ModelGraph, noTokenizer: Bool, skipCheck: Bool = false) throws -> TokenizerData? {
        if noTokenizer { return nil }
        let hint = "no tokenizer.ggml.* would be written; pass --no-tokenizer to write a GGUF without one"
        if let tokenizer = graph.tokenizer { return tokenizer }
        let place = sourceDescription(graph)
        var converted: TokenizerData?
        do {
            converted = try TokenizerFiles.tokenizerData(from: graph.sideFiles)
        } catch {
            throw KitError.ggufNotLoadable("\(place): tokenizer.json cannot be converted (\(error)): \(hint)")
        }
        if var data = converted {
            // tokenizer.json as Quanta runs it (Hugging Face's rules), made once: it names the
            // pre-tokenizer (llama.cpp's hash table) and is the reference of the tokenizer check.
            let source: Result<BPETokenizer?, Error> = Result { try Evaluator.makeTokenizer(sideFiles: graph.sideFiles, gguf: nil) }
            try LlamaCppPreTokenizer.resolve(&data, tokenizer: try? source.get(), place: place)
            if !skipCheck { try checkFidelity(data, source: source, place: place) }
            return data
        }
        let names = Set(graph.sideFiles.map(\.name))
        if names.contains("tokenizer.model") {
            throw KitError.ggufNotLoadable("\(place): tokenizer only as tokenizer.model (SentencePiece), which this build cannot convert: \(hint)")
        }
        if names.contains("vocab.json") || names.contains("merges.txt") {
            throw KitError.ggufNotLoadable("\(place): tokenizer only as vocab.json/merges.txt (no tokenizer.json), which this build cannot convert: \(hint)")
        }
        throw KitError.ggufNotLoadable("\(place) has no tokenizer (no tokenizer.json or tokenizer.model): \(hint)")
    }

    /// tokenizer.json (Hugging Face's rules, `source` as made from it) against the GGUF vocabulary as
    /// llama.cpp will run it.
    static func checkFidelity(_ data: TokenizerData, source made: Result<BPETokenizer?, Error>, place: String) throws {
        let tokenizer: BPETokenizer?
        do {
            tokenizer = try made.get()
        } catch {
            throw KitError.tokenizerMismatch("tokenizer check: tokenizer.json of \(place) cannot be run here (\(error)), so the GGUF vocabulary made from it cannot be checked; nothing was written (--skip-tokenizer-check writes anyway)")
        }
        guard let source = tokenizer else { return }
        let output: BPETokenizer
        do {
            output = try BPETokenizer.fromGGUFMetadata(data)
        } catch {
            throw KitError.tokenizerMismatch("tokenizer check: \(place)'s GGUF vocabulary (pre-tokenizer '\(data.pre ?? "none")') cannot be run here as llama.cpp runs it (\(error)), so its ids cannot be checked against tokenizer.json; nothing was written (--skip-tokenizer-check writes anyway)")
        }
        try TokenizerFidelity.check(source: source, sourceName: "tokenizer.json of \(place)", output: output,
                                    outputName: "the GGUF vocabulary (llama.cpp's rules, pre '\(data.pre ?? "none")')")
    }

    /// Whether carried GGUF metadata holds a vocabulary llama.cpp reads.
    static func hasTokenizer(_ metadata: [(key: String, value: GGUFValue)]) -> Bool {
        var model: String?
        var hasTokens = false
        for entry in metadata {
            if entry.key == "tokenizer.ggml.model", case let .string(text) = entry.value { model = text }
            if entry.key == "tokenizer.ggml.tokens" { hasTokens = true }
        }
        guard let model, model != noVocabularyModel, model != "no_vocab" else { return false }
        return hasTokens
    }

    /// Refuses carried GGUF metadata without a vocabulary unless `noTokenizer`.
    static func checkCarriedTokenizer(_ graph: ModelGraph, _ metadata: [(key: String, value: GGUFValue)], noTokenizer: Bool) throws {
        guard !noTokenizer, !hasTokenizer(metadata) else { return }
        throw KitError.ggufNotLoadable("GGUF \(graph.source) has no tokenizer (no tokenizer.ggml.model and tokenizer.ggml.tokens): no tokenizer.ggml.* would be written; pass --no-tokenizer to write a GGUF without one")
    }

    /// "model dir X", or what else the input was, for messages.
    static func sourceDescription(_ graph: ModelGraph) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: graph.source, isDirectory: &isDirectory), isDirectory.boolValue {
            return "model dir \(graph.source)"
        }
        if graph.source.hasSuffix(".index.json") { return "model dir \((graph.source as NSString).deletingLastPathComponent)" }
        return "\(graph.source) (a weights file without its model directory)"
    }
}
