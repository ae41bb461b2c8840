import QuantaGraph

/// Errors from user-level operations (format detection, option combinations).
public enum KitError: Error, CustomStringConvertible, Sendable {
    case unsupportedConversion(from: ModelFormat, to: ModelFormat, reason: String)
    case invalidOption(String)
    /// A quantized tensor of `source` could not be decoded to floats (`reason` says which component).
    case dequantizeFailed(source: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedConversion(from, to, reason):
            return "cannot convert \(from.rawValue) → \(to.rawValue): \(reason)"
        case let .invalidOption(message):
            return message
        case let .dequantizeFailed(source, tensor, reason):
            return "\(source): cannot dequantize '\(tensor)': \(reason)"
        }
    }
}
