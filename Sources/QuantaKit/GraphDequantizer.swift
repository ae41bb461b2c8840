import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Quantized graph tensors → plain float tensors (`convert --dequantize`, and the ggml blocks a
/// safetensors or PyTorch output cannot hold). Each tensor becomes a `.deferred` payload that
/// decodes when the writer reaches it and releases its source pages after, so a conversion holds
/// one tensor in f32 at a time, never the model.
public enum GraphDequantizer {
    /// Replaces every quantized tensor whose scheme `include` accepts by a dense `dtype` tensor in
    /// Hugging Face row order. Values are `Dequantizer.floats` rounded once to `dtype`.
    public static func dequantize(_ graph: inout ModelGraph, to dtype: DType,
                                  where include: (QuantScheme) -> Bool = { _ in true }) throws {
        guard dtype.isFloatingPoint, DTypeConversion.canConvert(from: .f32, to: dtype) else {
            throw KitError.invalidOption("cannot dequantize to \(dtype.rawValue): not a float type (use f32, f16 or bf16)")
        }
        let file = graph.source
        try graph.mapTensors { tensor in
            guard case let .quantized(q) = tensor.value, include(q.scheme) else { return tensor }
            let source = tensor
            let payload = try TensorPayload(dtype: dtype, shape: tensor.shape) { out in
                defer { source.releaseSourcePages() }
                do {
                    try decode(source, q, dtype: dtype, into: out)
                } catch {
                    // The writer's error would otherwise name neither the input nor the tensor.
                    throw KitError.dequantizeFailed(source: file, tensor: source.name, reason: "\(error)")
                }
            }
            var copy = tensor
            copy.value = .deferred(payload)
            copy.rowOrder = .huggingFace   // the payload's rows are in HF order; GGUF output re-interleaves
            copy.castTo = nil
            return copy
        }
    }

    /// Dequantizes every quantized tensor and drops `quantization_config` from config.json, so
    /// transformers loads the output as a plain model.
    public static func dequantizeAll(_ graph: inout ModelGraph, to dtype: DType) throws {
        try dequantize(&graph, to: dtype)
        if graph.config?["quantization_config"] != nil {
            HuggingFaceDirectory.updateConfig(&graph) { $0["quantization_config"] = nil }
        }
    }

    /// Quantized tensors per scheme ("GPTQ(4b,g128)", "Q4_K", …) in first-seen order.
    public static func quantizedCounts(_ graph: ModelGraph,
                                       where include: (QuantScheme) -> Bool = { _ in true }) -> [(scheme: String, count: Int)] {
        var counts: [(scheme: String, count: Int)] = []
        for tensor in graph.tensors {
            guard case let .quantized(q) = tensor.value, include(q.scheme) else { continue }
            let name = q.scheme.description
            if let i = counts.firstIndex(where: { $0.scheme == name }) { counts[i].count += 1 } else { counts.append((name, 1)) }
        }
        return counts
    }

    static func isGGML(_ scheme: QuantScheme) -> Bool {
        if case .ggml = scheme { return true }
        return false
    }

    /// One tensor's values as `dtype` into `out` (exactly `elementCount × dtype.byteSize` bytes).
    static func decode(_ tensor: GraphTensor, _ q: QuantizedTensor, dtype: DType, into out: UnsafeMutableRawBufferPointer) throws {
        let count = try ShapeMath.elementCount(tensor.shape, context: tensor.name)
        // ggml blocks already in HF order decode straight into an f32 output (no second buffer).
        if dtype == .f32, tensor.rowOrder == .huggingFace, case let .ggml(type) = q.scheme, let blocks = q.component("weight") {
            try blocks.withUnsafeBytes { raw in
                try GGMLCodec.dequantize(type, from: raw, into: out.bindMemory(to: Float.self), count: count)
            }
            return
        }
        let values = try Dequantizer.floats(tensor)   // HF row order
        guard values.count == count else {
            throw GraphError.shapeMismatch(name: tensor.name, expected: tensor.shape, found: [values.count])
        }
        try values.withUnsafeBytes { raw in
            // A finite value that overflows the output type is refused by name (ValueCheck).
            try DTypeConversion.convert(raw, from: .f32, into: out, to: dtype, count: count, refusingOverflowIn: tensor.name)
        }
    }
}
