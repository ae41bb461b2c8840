import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Builds the engine's matrix for a graph tensor, keeping its stored form wherever a kernel
/// family exists for it.
enum WeightMatrixLoader {
    static func matrix(_ tensor: GraphTensor, rows: Int, columns: Int) throws -> WeightMatrix {
        guard tensor.shape == [rows, columns] else {
            throw GraphError.shapeMismatch(name: tensor.name, expected: [rows, columns], found: tensor.shape)
        }
        var heads: Int?
        if case let .ggufInterleaved(h) = tensor.rowOrder { heads = h }
        switch tensor.value {
        case let .dense(view) where tensor.castTo == nil || tensor.castTo == view.dtype:
            switch view.dtype {
            case .f32 where heads == nil: return try FloatMatrix(view: view, rows: rows, columns: columns)
            case .f32: return try BlockMatrix(view: view, type: .f32, rows: rows, columns: columns, interleavedHeads: heads, name: tensor.name)
            case .f16: return try BlockMatrix(view: view, type: .f16, rows: rows, columns: columns, interleavedHeads: heads, name: tensor.name)
            case .bf16: return try BlockMatrix(view: view, type: .bf16, rows: rows, columns: columns, interleavedHeads: heads, name: tensor.name)
            default: break
            }
        case let .quantized(q):
            if case let .ggml(type) = q.scheme {
                guard let blocks = q.component("weight") else {
                    throw GraphError.missingTensor(name: tensor.name + " (blocks)", context: "GGUF tensor")
                }
                return try BlockMatrix(view: blocks, type: type, rows: rows, columns: columns, interleavedHeads: heads, name: tensor.name)
            }
            return try PackedLinearMatrix(tensor: tensor, quantized: q)
        default: break
        }
        // Other dtypes, casts and computed tensors: decoded once into an owned f32 copy.
        return FloatMatrix(buffer: FloatBuffer(try Dequantizer.floats(tensor)), rows: rows, columns: columns)
    }

    /// A small tensor (norm, bias) as f32.
    static func vector(_ tensor: GraphTensor, count: Int) throws -> FloatBuffer {
        guard tensor.elementCount == count else {
            throw GraphError.shapeMismatch(name: tensor.name, expected: [count], found: tensor.shape)
        }
        return FloatBuffer(try Dequantizer.floats(tensor))
    }
}
