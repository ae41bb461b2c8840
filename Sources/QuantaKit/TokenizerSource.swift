import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph

/// Where a command's tokenizer comes from: `--tokenizer PATH` when given, else the model's own, else
/// (for `eval --baseline`) the baseline's. A checkpoint saved by transformers' `save_pretrained` of a
/// model carries no tokenizer files; the user has them in the base model.
public enum TokenizerSource {
    /// A tokenizer and, when it is not the model's own, a note saying whose it is.
    public struct Resolved {
        public let tokenizer: BPETokenizer
        public let note: String?
    }

    /// The tokenizer at `path`: a directory holding tokenizer.json (and tokenizer_config.json), a
    /// tokenizer.json file (its directory's tokenizer_config.json is read too), or a GGUF file's
    /// `tokenizer.ggml.*` metadata (only the header is read; no tensor is mapped).
    /// `role` names the path in errors ("--tokenizer", "model").
    public static func load(path: String, role: String = "--tokenizer") throws -> BPETokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw KitError.invalidOption("\(role) \(path): no such file or directory")
        }
        if !isDirectory.boolValue && !path.hasSuffix(".json") {
            guard let tokenizer = try Evaluator.makeTokenizer(sideFiles: [], gguf: GGUFImport.decodeTokenizer(try GGUFFile(path: path))) else {
                throw KitError.invalidOption("\(role) \(path): the file carries no tokenizer (no tokenizer.ggml.* metadata)")
            }
            return tokenizer
        }
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        let jsonPath = isDirectory.boolValue ? (folder as NSString).appendingPathComponent("tokenizer.json") : path
        guard FileManager.default.fileExists(atPath: jsonPath) else {
            throw KitError.invalidOption("\(role) \(path): the directory holds no tokenizer.json")
        }
        var files = [SideFile(name: "tokenizer.json", contents: try bytes(jsonPath))]
        let configPath = (folder as NSString).appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configPath) {
            files.append(SideFile(name: "tokenizer_config.json", contents: try bytes(configPath)))
        }
        guard let tokenizer = try Evaluator.makeTokenizer(sideFiles: files, gguf: nil) else {
            throw KitError.invalidOption("\(role) \(path): no tokenizer")   // unreachable: tokenizer.json is there
        }
        return tokenizer
    }

    private static func bytes(_ path: String) throws -> [UInt8] {
        do { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw KitError.invalidOption("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Whether `graph` carries a tokenizer of its own.
    public static func hasTokenizer(_ graph: ModelGraph) -> Bool {
        graph.tokenizer != nil || graph.sideFiles.contains { $0.name == "tokenizer.json" }
    }

    /// `override` (a `--tokenizer` path) when given, else `graph`'s own tokenizer, else the
    /// `fallback` model's (named `fallbackName` in the note), else an error that says what to pass.
    public static func resolve(for graph: ModelGraph, override: String?, fallback: ModelGraph? = nil,
                               fallbackName: String = "the baseline") throws -> Resolved {
        if let override {
            return Resolved(tokenizer: try load(path: override), note: hasTokenizer(graph) ? "using the tokenizer of \(override) instead of the model's own" : "using the tokenizer of \(override)")
        }
        if hasTokenizer(graph) { return Resolved(tokenizer: try Evaluator.makeTokenizer(graph), note: nil) }
        if let fallback, hasTokenizer(fallback) {
            return Resolved(tokenizer: try Evaluator.makeTokenizer(fallback),
                            note: "\(graph.source) carries no tokenizer; using \(fallbackName)'s (\(fallback.source))")
        }
        throw KitError.invalidOption("\(graph.source) carries no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json); pass --tokenizer PATH (a model directory, a tokenizer.json or a GGUF), or --token-ids")
    }
}
