/// Why an AWQ quantization, packing or decode was refused. Messages say what to change.
public enum AWQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The AWQ GEMM layout packs 4-bit codes only (AutoAWQ's WQLinear_GEMM raises for other widths).
    case unsupportedBits(Int)
    /// A linear's input width is not a multiple of the group size; `suggestion` is the largest
    /// group size that fits every linear (nil when none of 128, 64, 32, 16 does).
    case groupSizeDoesNotDivide(groupSize: Int, tensor: String, inputWidth: Int, suggestion: Int?)
    /// A linear's output width is not a multiple of 8 (eight 4-bit codes per int32).
    case outputNotPackable(tensor: String, outputWidth: Int)
    /// A component tensor has the wrong shape or dtype for the layout.
    case badComponent(tensor: String, component: String, reason: String)
    case invalidGroupSize(String)
    /// NaN/±Inf weights, or a scale the layout's float16 cannot hold.
    case nonFinite(tensor: String, what: String)

    public var description: String {
        switch self {
        case let .unsupportedBits(bits):
            return "AWQ's GEMM layout stores 4-bit weights only; --bits \(bits) is not supported (use --bits 4)"
        case let .groupSizeDoesNotDivide(groupSize, tensor, width, suggestion):
            let hint = suggestion.map { "; the largest group size that fits every linear of this model is \($0): pass --group-size \($0) (or --group-size auto)" }
                ?? "; no power-of-two group size ≥ 16 fits every linear of this model"
            return "AWQ's GEMM layout needs each linear's input width to be a multiple of the group size, but '\(tensor)' has \(width) inputs, which --group-size \(groupSize) does not divide\(hint)"
        case let .outputNotPackable(tensor, width):
            return "AWQ's GEMM layout packs eight 4-bit codes per int32 along the outputs, but '\(tensor)' has \(width) outputs (not a multiple of 8)"
        case let .badComponent(tensor, component, reason):
            return "AWQ tensor '\(tensor)': component '\(component)' \(reason)"
        case let .invalidGroupSize(message):
            return message
        case let .nonFinite(tensor, what):
            return "AWQ cannot quantize '\(tensor)': it has \(what)"
        }
    }
}
