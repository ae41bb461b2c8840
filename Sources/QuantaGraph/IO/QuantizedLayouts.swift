import QuantaCore

/// Quantized checkpoints in Hugging Face layouts: a quantized linear `…q_proj.weight` is stored as
/// component tensors named `<module>.<component>` (`…q_proj.qweight`, `…q_proj.weight.absmax`,
/// `…q_proj.SCB`), and config.json's `quantization_config` says which method wrote them.
/// Each method's layout file recognizes its own keys on import; export is the generic rule below.
public enum QuantizedLayouts {
    /// The module a linear weight belongs to: `model.layers.0.mlp.up_proj.weight` → `model.layers.0.mlp.up_proj`.
    public static func module(of tensorName: String) -> String {
        tensorName.hasSuffix(".weight") ? String(tensorName.dropLast(".weight".count)) : tensorName
    }

    /// The safetensors tensors that store `tensor` (one per component for quantized non-ggml schemes).
    public static func exportTensors(_ tensor: GraphTensor) throws -> [(name: String, payload: TensorPayload)] {
        if case let .quantized(q) = tensor.value {
            if case .ggml = q.scheme {
                throw GraphError.unsupported("tensor '\(tensor.name)' is in a ggml block type (\(q.scheme)); dequantize it first")
            }
            let module = module(of: tensor.name)
            return q.components.map { (module + "." + $0.name, TensorPayload(view: $0.view)) }
        }
        return [(tensor.name, try tensor.densePayload())]
    }

    /// Rebuilds quantized tensors from a checkpoint's raw tensors according to `quantization_config`.
    /// Returns nil when the config names no quantization.
    public static func importTensors(config: JSONObject?, tensors: [GraphTensor], source: String) throws -> [GraphTensor]? {
        guard let quantization = config?["quantization_config"]?.objectValue else { return nil }
        let method = quantization["quant_method"]?.stringValue ?? "(missing)"
        switch method {
        case "bitsandbytes": return try BitsAndBytesLayout.importTensors(quantization: quantization, tensors: tensors, source: source)
        case "awq": return try AWQLayout.importTensors(quantization: quantization, tensors: tensors, source: source)
        case "gptq": return try GPTQLayout.importTensors(quantization: quantization, tensors: tensors, source: source)
        default:
            throw GraphError.unsupported("\(source): quantization_config.quant_method '\(method)' is not a layout Quanta reads yet")
        }
    }
}
