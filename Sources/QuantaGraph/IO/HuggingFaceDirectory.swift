import Foundation
import QuantaCore

/// The non-weight files of a Hugging Face model directory: config.json decoded, everything else
/// (generation config, tokenizer files, chat template) carried to the output byte for byte.
public enum HuggingFaceDirectory {
    /// Side files copied unchanged (transformers' and tokenizers' file names).
    public static let carriedFiles = [
        "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json", "chat_template.jinja",
        "chat_template.json",
    ]

    /// Largest side file we read into memory (tokenizer.json of large vocabularies is ~20 MB).
    static let sideFileCap = 256 << 20

    /// Reads config.json (if any) and the side files of `directory`.
    public static func readMetadata(directory: String) throws -> (config: JSONObject?, architecture: Architecture,
                                                                   hyperparameters: Hyperparameters?, sideFiles: [SideFile]) {
        var config: JSONObject?
        var sideFiles: [SideFile] = []
        let configPath = directory + "/config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            let bytes = try readCapped(configPath)
            sideFiles.append(SideFile(name: "config.json", contents: bytes))
            guard let object = try JSONParser.parse(bytes, context: configPath).objectValue else {
                throw GraphError.invalidConfig(path: configPath, key: "(root)", reason: "must be a JSON object")
            }
            config = object
        }
        let architecture = config.map { Architecture(config: $0) } ?? .unknown
        var hyperparameters: Hyperparameters?
        if let config, architecture != .unknown {
            hyperparameters = try Hyperparameters.decode(config: config, architecture: architecture, path: configPath)
        }
        for name in carriedFiles {
            let path = directory + "/" + name
            if FileManager.default.fileExists(atPath: path) {
                sideFiles.append(SideFile(name: name, contents: try readCapped(path)))
            }
        }
        return (config, architecture, hyperparameters, sideFiles)
    }

    static func readCapped(_ path: String) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        guard file.size <= sideFileCap else {
            throw CoreError.io(path: path, reason: "\(file.size) bytes is larger than the \(sideFileCap >> 20) MiB cap for a metadata file")
        }
        return Array(file.bytes)
    }

    /// config.json as transformers writes it: `json.dumps(d, indent=2, sort_keys=True) + "\n"`.
    public static func configText(_ config: JSONObject) -> String {
        JSONWriter.pretty(.object(sortedKeys(config))) + "\n"
    }

    static func sortedKeys(_ object: JSONObject) -> JSONObject {
        JSONObject(object.entries.sorted { $0.key < $1.key }.map { ($0.key, sortedValue($0.value)) })
    }

    private static func sortedValue(_ value: JSONValue) -> JSONValue {
        switch value {
        case let .object(o): return .object(sortedKeys(o))
        case let .array(items): return .array(items.map(sortedValue))
        default: return value
        }
    }

    /// The torch dtype name config.json uses for a dtype.
    public static func torchDTypeName(_ dtype: DType) -> String? {
        switch dtype {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .f64: return "float64"
        default: return nil
        }
    }

    /// Writes the side files into `directory`. config.json is the original bytes when it rode
    /// along unchanged (a side file), otherwise `graph.config` written as transformers writes it.
    public static func writeMetadata(_ graph: ModelGraph, into directory: String) throws {
        if !graph.sideFiles.contains(where: { $0.name == "config.json" }), let config = graph.config {
            try writeFile(directory + "/config.json", Array(configText(config).utf8))
        }
        for side in graph.sideFiles { try writeFile(directory + "/" + side.name, side.contents) }
    }

    /// Records a config change: the edited config replaces the original bytes on output.
    public static func updateConfig(_ graph: inout ModelGraph, _ edit: (inout JSONObject) -> Void) {
        guard var config = graph.config else { return }
        edit(&config)
        graph.config = config
        graph.sideFiles.removeAll { $0.name == "config.json" }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let out = try OutputFile(creating: path)
        try out.write(bytes)
        try out.close()
    }
}
