import QuantaCore
import QuantaGraph

/// The values of any graph tensor as `ValueStats`, one tensor at a time and in stored order:
/// dense bytes scanned where they are mapped, ggml blocks decoded a chunk at a time, the other
/// quantized layouts decoded whole (one tensor in f32, as their decoders produce it).
public enum TensorValueScan {
    public static func scan(_ tensor: GraphTensor) throws -> ValueStats {
        if case let .dense(view) = tensor.value { return ValueScan.scan(view) }
        if case let .quantized(q) = tensor.value, case let .ggml(type) = q.scheme {
            guard let blocks = q.component("weight") else {
                throw GraphError.missingTensor(name: tensor.name + " (blocks)", context: "GGUF tensor")
            }
            defer { blocks.releasePages() }
            return try blocks.withUnsafeBytes { try GGMLValueScan.scan(type, $0) }
        }
        defer { tensor.releaseSourcePages() }
        let values = try Dequantizer.floats(tensor, storedOrder: true)
        return values.withUnsafeBufferPointer { ValueScan.scan($0) }
    }
}
