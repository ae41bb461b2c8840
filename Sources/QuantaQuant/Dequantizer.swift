import QuantaCore
import QuantaFormats
import QuantaGraph

/// Turns any graph tensor into f32 values in Hugging Face row order: dense tensors convert,
/// quantized tensors decode through their codec.
public enum Dequantizer {
    /// `storedOrder`: keep the rows as stored (llama.cpp's Q/K interleave for GGUF-sourced tensors).
    public static func floats(_ tensor: GraphTensor, storedOrder: Bool = false) throws -> [Float] {
        var values: [Float]
        switch tensor.value {
        case let .dense(view):
            values = view.floats()
            if let cast = tensor.castTo, cast != view.dtype, cast != .f32 {
                values = try TensorView.float32(values, shape: view.shape).converted(to: cast, refusingOverflowIn: tensor.name).floats()
            }
        case let .quantized(q):
            values = try decode(q, name: tensor.name)
        case let .deferred(payload):
            values = try materialize(payload)
        }
        if !storedOrder, case let .ggufInterleaved(heads) = tensor.rowOrder {
            values = try reorderToHuggingFace(values, shape: tensor.shape, heads: heads)
        }
        return values
    }

    /// Runs a deferred tensor's producer and reads the result as f32.
    static func materialize(_ payload: TensorPayload) throws -> [Float] {
        guard case let .produce(producer) = payload.source else {
            switch payload.source {
            case let .view(view): return view.floats()
            case let .convert(view, target): return try view.converted(to: target).floats()
            case .produce: return []
            }
        }
        let owned = OwnedBytes(count: payload.byteCount)
        try producer(owned.buffer)
        return try TensorView(owned: owned, byteCount: payload.byteCount, dtype: payload.dtype, shape: payload.shape).floats()
    }

    static func decode(_ q: QuantizedTensor, name: String) throws -> [Float] {
        switch q.scheme {
        case let .ggml(type):
            guard let blocks = q.component("weight") else { throw GraphError.missingTensor(name: name + " (blocks)", context: "GGUF tensor") }
            let count = try ShapeMath.elementCount(q.shape, context: name)
            return try blocks.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: count) }
        case .bnb4, .bnbInt8:  // bitsandbytes NF4/FP4 (+ double quant) and LLM.int8
            return try BnbTensorDecoder.decode(q, name: name)
        case .awq:  // AutoAWQ GEMM layout
            return try AWQTensorDecoder.decode(q, name: name)
        case .gptq:  // GPTQ layout, decoded through g_idx
            return try GPTQTensorDecoder.decode(q, name: name)
        }
    }

    static func reorderToHuggingFace(_ values: [Float], shape: [Int], heads: Int) throws -> [Float] {
        let rows = shape.first ?? 0
        guard rows > 0 else { return values }
        var result = [Float](repeating: 0, count: values.count)
        try values.withUnsafeBytes { src in
            try result.withUnsafeMutableBytes { dst in
                try RowPermutation.apply(rows: rows, rowBytes: values.count / rows * 4, heads: heads,
                                         toHuggingFace: true, source: src, target: dst)
            }
        }
        return result
    }
}
