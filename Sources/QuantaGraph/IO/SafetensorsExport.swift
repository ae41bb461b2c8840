import Foundation
import QuantaCore
import QuantaFormats

/// Writes a graph in a Hugging Face layout: a directory (weight shards + index + config.json and
/// side files) or, when the output names a single weights file (`.safetensors`, `.bin`, `.pt`),
/// just that file. Atomic either way.
public enum HuggingFaceExport {
    public enum WeightFormat: Sendable { case safetensors, pytorch }

    /// Returns the names of the files written. Every tensor's values are checked as it streams
    /// (`ValueCheck`): NaN/±Inf as `nonFinite` says, casts that overflow always refused.
    public static func write(_ graph: ModelGraph, to output: String, weights: WeightFormat, maxShardSize: Int,
                             force: Bool, nonFinite: NonFinitePolicy = .refuse) throws -> [String] {
        let named = try graph.tensors.flatMap { try QuantizedLayouts.exportTensors($0) }.map { entry in
            (name: entry.name, payload: entry.payload.checked(ValueCheck(tensor: entry.name, nonFinite: nonFinite)))
        }
        let metadata = graph.metadata.isEmpty ? nil : graph.metadata.map { ($0.key, $0.value) }
        let singleFile = weights == .safetensors ? output.hasSuffix(".safetensors") : (output.hasSuffix(".bin") || output.hasSuffix(".pt"))
        if singleFile {
            let atomic = try AtomicOutput(path: output, isDirectory: false, force: force)
            do {
                switch weights {
                case .safetensors: try SafetensorsWriter.write(tensors: named, metadata: metadata, to: atomic.temporaryPath)
                case .pytorch: try TorchWriter.write(tensors: named, to: atomic.temporaryPath, archiveName: TorchWriter.archiveName(forPath: output))
                }
                try atomic.commit()
            } catch { atomic.abort(); throw error }
            return [(output as NSString).lastPathComponent]
        }
        var graph = graph
        // A graph from GGUF carries its tokenizer as metadata: write the HF tokenizer files for it.
        if let tokenizer = graph.tokenizer, !graph.sideFiles.contains(where: { $0.name == "tokenizer.json" }) {
            graph.sideFiles += try TokenizerFiles.huggingFaceFiles(tokenizer, contextLength: graph.hyperparameters?.contextLength)
        }
        let atomic = try AtomicOutput(path: output, isDirectory: true, force: force)
        do {
            var files: [String]
            switch weights {
            case .safetensors:
                files = try SafetensorsShards.writeDirectory(tensors: named, metadata: metadata,
                                                             into: atomic.temporaryPath, maxShardSize: maxShardSize)
            case .pytorch:
                files = try TorchWriter.writeDirectory(tensors: named, into: atomic.temporaryPath, maxShardSize: maxShardSize)
            }
            try HuggingFaceDirectory.writeMetadata(graph, into: atomic.temporaryPath)
            files += graph.sideFiles.map(\.name)
            try atomic.commit()
            return files
        } catch { atomic.abort(); throw error }
    }
}

/// Safetensors output (the common case).
public enum SafetensorsExport {
    public static func write(_ graph: ModelGraph, to output: String, maxShardSize: Int, force: Bool,
                             nonFinite: NonFinitePolicy = .refuse) throws -> [String] {
        try HuggingFaceExport.write(graph, to: output, weights: .safetensors, maxShardSize: maxShardSize, force: force,
                                    nonFinite: nonFinite)
    }
}
