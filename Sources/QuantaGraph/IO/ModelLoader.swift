import Foundation
import QuantaCore
import QuantaFormats

/// Reads any supported model path into the graph IR. Tensors stay views into the mapped files.
public enum ModelLoader {
    public static func load(path: String, format: ModelFormat? = nil) throws -> ModelGraph {
        let resolved = try format ?? ModelFormat.detect(path: path)
        switch resolved {
        case .safetensors: return try loadSafetensors(path: path)
        case .gguf: return try GGUFImport.graph(from: try GGUFFile(path: ggufPath(path)))
        case .pytorch:
            let checkpoint = try TorchCheckpoint(path: path)
            return try loadHuggingFace(path: path, tensors: checkpoint.tensors, metadata: [])
        }
    }

    /// A GGUF file, or the single .gguf inside a directory.
    public static func ggufPath(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw GraphError.notFound(path: path) }
        guard isDirectory.boolValue else { return path }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".gguf") }
        guard names.count == 1 else { throw GraphError.unknownFormat(path: path) }
        return path + "/" + names[0]
    }

    /// The directory that holds a model's metadata files, if `path` is (or is inside) one.
    static func modelDirectory(for path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { return path }
        if path.hasSuffix(".index.json") { return (path as NSString).deletingLastPathComponent }
        return nil
    }

    static func loadSafetensors(path: String) throws -> ModelGraph {
        let checkpoint = try SafetensorsCheckpoint(path: path)
        return try loadHuggingFace(path: path, tensors: checkpoint.tensors.map { ($0.name, $0.view) },
                                   metadata: checkpoint.metadata)
    }

    /// A Hugging Face checkpoint's tensors (from safetensors or PyTorch files) plus its directory's
    /// config and side files.
    static func loadHuggingFace(path: String, tensors named: [(name: String, view: TensorView)],
                                metadata: [(key: String, value: String)]) throws -> ModelGraph {
        var architecture = Architecture.unknown
        var config: JSONObject?
        var hyperparameters: Hyperparameters?
        var sideFiles: [SideFile] = []
        if let directory = modelDirectory(for: path) {
            (config, architecture, hyperparameters, sideFiles) = try HuggingFaceDirectory.readMetadata(directory: directory)
        }
        var tensors = named.map { GraphTensor(name: $0.name, value: .dense($0.view)) }
        if let quantized = try QuantizedLayouts.importTensors(config: config, tensors: tensors, source: path) {
            tensors = quantized
        }
        var graph = ModelGraph(architecture: architecture, hyperparameters: hyperparameters, config: config,
                               nodes: ModelGraph.grouping(tensors, architecture: architecture),
                               metadata: metadata, sideFiles: sideFiles, source: path)
        graph.sourceOrder = tensors.map(\.name)
        return graph
    }
}
