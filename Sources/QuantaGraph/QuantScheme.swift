import QuantaFormats

/// How a quantized tensor's components encode its values.
public enum QuantScheme: Sendable, Equatable, CustomStringConvertible {
    /// A ggml block type; one component, `weight`, of raw blocks.
    case ggml(GGMLType)
    /// bitsandbytes 4-bit (NF4 or FP4), optionally with double-quantized absmax.
    case bnb4(kind: Bnb4Kind, blockSize: Int, doubleQuant: Bool, computeDType: String)
    /// bitsandbytes LLM.int8: row-wise absmax int8 (`weight`, `SCB`).
    case bnbInt8(threshold: Double)
    /// GPTQ int32 packing along the input dimension (`qweight`, `qzeros`, `scales`, `g_idx`).
    case gptq(bits: Int, groupSize: Int, sym: Bool, descAct: Bool)
    /// AWQ GEMM packing along the output dimension (`qweight`, `qzeros`, `scales`).
    case awq(bits: Int, groupSize: Int)

    public enum Bnb4Kind: String, Sendable { case nf4, fp4 }

    public var description: String {
        switch self {
        case let .ggml(type): return type.name
        case let .bnb4(kind, blockSize, dq, _): return "\(kind.rawValue.uppercased())(b\(blockSize)\(dq ? ",dq" : ""))"
        case .bnbInt8: return "LLM.int8"
        case let .gptq(bits, group, _, _): return "GPTQ(\(bits)b,g\(group))"
        case let .awq(bits, group): return "AWQ(\(bits)b,g\(group))"
        }
    }
}
