/// Why a GPTQ quantization, packing or decode was refused. Messages say what to change.
public enum GPTQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Only the widths the GPTQ layout packs (AutoGPTQ / GPTQModel: 2, 3, 4, 8).
    case unsupportedBits(Int)
    case invalidGroupSize(Int)
    case invalidDamp(Double)
    /// `--static-groups` only means something with groups and act-order.
    case invalidOption(String)
    /// A linear's shape does not fit the int32 packing (`tensor`, what is wrong).
    case notPackable(tensor: String, reason: String)
    /// The Hessian stayed not positive definite even at the largest damp tried.
    case choleskyFailed(tensor: String, lastDamp: Double)
    /// Weights or Hessian entries that are NaN/inf, or a scale beyond float16's range.
    case nonFinite(tensor: String, what: String)
    /// A component tensor has the wrong shape, dtype or values for the layout.
    case badComponent(tensor: String, component: String, reason: String)
    /// Calibration inputs of the wrong width for the Hessian.
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case let .unsupportedBits(bits):
            return "GPTQ packs 2, 3, 4 or 8-bit weights; --bits \(bits) is not supported"
        case let .invalidGroupSize(size):
            return "--group-size must be -1 (one group per row) or a positive number of input columns, not \(size)"
        case let .invalidDamp(damp):
            return "--damp must be in (0, 1) (a fraction of the Hessian's mean diagonal), not \(damp)"
        case let .invalidOption(message):
            return message
        case let .notPackable(tensor, reason):
            return "GPTQ cannot pack '\(tensor)': \(reason)"
        case let .choleskyFailed(tensor, lastDamp):
            return "GPTQ: the Hessian of '\(tensor)' is not positive definite even with damp \(lastDamp) × its mean diagonal; "
                + "use more calibration samples (--calib-samples) or a larger --damp"
        case let .nonFinite(tensor, what):
            return "GPTQ: '\(tensor)' has \(what); it cannot be quantized"
        case let .badComponent(tensor, component, reason):
            return "GPTQ tensor '\(tensor)': component '\(component)' \(reason)"
        case let .shapeMismatch(message):
            return message
        }
    }
}
