import QuantaGraph

/// Errors from user-level operations (format detection, option combinations).
public enum KitError: Error, CustomStringConvertible, Sendable {
    case unsupportedConversion(from: ModelFormat, to: ModelFormat, reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .unsupportedConversion(from, to, reason):
            return "cannot convert \(from.rawValue) → \(to.rawValue): \(reason)"
        case let .invalidOption(message):
            return message
        }
    }
}
