import Foundation
import QuantaCore
import QuantaFormats

/// The on-disk formats Quanta reads and writes.
public enum ModelFormat: String, Sendable, CaseIterable {
    case safetensors, gguf, pytorch

    /// Detects a path's format from its magic bytes (files) or contents (directories).
    public static func detect(path: String) throws -> ModelFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw GraphError.notFound(path: path) }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if names.contains(where: { $0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json") }) { return .safetensors }
            if names.contains(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0 == "pytorch_model.bin.index.json" }) { return .pytorch }
            if names.filter({ $0.hasSuffix(".gguf") }).count == 1 { return .gguf }
            throw GraphError.unknownFormat(path: path)
        }
        if path.hasSuffix(".safetensors.index.json") { return .safetensors }
        if path.hasSuffix(".bin.index.json") { return .pytorch }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw GraphError.notFound(path: path) }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 9))
        if head.starts(with: Array("GGUF".utf8)) { return .gguf }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .pytorch }
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return .safetensors }
        throw GraphError.unknownFormat(path: path)
    }
}
