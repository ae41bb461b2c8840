import QuantaGraph

/// Errors from user-level operations (format detection, option combinations).
public enum KitError: Error, CustomStringConvertible, Sendable {
    case unsupportedConversion(from: ModelFormat, to: ModelFormat, reason: String)
    case invalidOption(String)
    /// A quantized tensor of `source` could not be decoded to floats (`reason` says which component).
    case dequantizeFailed(source: String, tensor: String, reason: String)
    /// A GGUF llama.cpp could not load (unknown architecture, no tokenizer): refused before writing.
    case ggufNotLoadable(String)
    /// A tensor the requested type cannot hold (a block scale that is not finite).
    case cannotQuantize(tensor: String, type: String, reason: String)
    /// The output's tokenizer, run as its consumer runs it, gives other ids than the source's.
    case tokenizerMismatch(String)

    public var description: String {
        switch self {
        case let .unsupportedConversion(from, to, reason):
            return "cannot convert \(from.rawValue) → \(to.rawValue): \(reason)"
        case let .invalidOption(message):
            return message
        case let .dequantizeFailed(source, tensor, reason):
            return "\(source): cannot dequantize '\(tensor)': \(reason)"
        case let .ggufNotLoadable(message):
            return message
        case let .cannotQuantize(tensor, type, reason):
            return "cannot quantize tensor '\(tensor)' to \(type): \(reason)"
        case let .tokenizerMismatch(message):
            return message
        }
    }
}
