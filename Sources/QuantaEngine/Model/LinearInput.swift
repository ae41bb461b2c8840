/// The linears of a decoder layer grouped by the input they share (GPTQ's true-sequential order
/// and AWQ's scaling groups): q/k/v read the attention norm's output, o reads the attention output,
/// gate/up read the MLP norm's output, down reads the SwiGLU output.
public enum LinearGroup: Int, Sendable, CaseIterable {
    case qkv, output, gateUp, down

    /// The HF module names in this group (under `model.layers.N.`).
    public var modules: [String] {
        switch self {
        case .qkv: return ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]
        case .output: return ["self_attn.o_proj"]
        case .gateUp: return ["mlp.gate_proj", "mlp.up_proj"]
        case .down: return ["mlp.down_proj"]
        }
    }
}

/// One linear group's input as the forward pass computed it: `rows` rows of `columns` values,
/// `rowStride` apart. Valid only during the capture callback.
public struct LinearInput {
    public let group: LinearGroup
    public let values: UnsafePointer<Float>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int
}
