import Foundation
import QuantaCore
import QuantaFormats

/// Writes a graph as safetensors: a Hugging Face directory (shards + index + config and side
/// files) or, when the output ends in `.safetensors`, one file. Atomic either way.
public enum SafetensorsExport {
    /// Returns the names of the files written.
    public static func write(_ graph: ModelGraph, to output: String, maxShardSize: Int, force: Bool) throws -> [String] {
        let named = try graph.tensors.flatMap { try QuantizedLayouts.exportTensors($0) }
        let metadata = graph.metadata.isEmpty ? nil : graph.metadata.map { ($0.key, $0.value) }
        if output.hasSuffix(".safetensors") {
            let atomic = try AtomicOutput(path: output, isDirectory: false, force: force)
            do {
                try SafetensorsWriter.write(tensors: named, metadata: metadata, to: atomic.temporaryPath)
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
            var files = try SafetensorsShards.writeDirectory(tensors: named, metadata: metadata,
                                                             into: atomic.temporaryPath, maxShardSize: maxShardSize)
            try HuggingFaceDirectory.writeMetadata(graph, into: atomic.temporaryPath)
            files += graph.sideFiles.map(\.name)
            try atomic.commit()
            return files
        } catch { atomic.abort(); throw error }
    }
}
