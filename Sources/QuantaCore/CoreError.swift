/// Errors raised by the core: every case says what went wrong and where.
public enum CoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case outOfBounds(context: String, offset: Int, need: Int, available: Int)
    case overflow(context: String)
    case invalidShape(context: String, shape: [Int])
    case unsupportedDType(context: String, dtype: String)
    case json(context: String, offset: Int, message: String)
    case io(path: String, reason: String)
    case outputExists(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open \(path): \(reason)"
        case let .outOfBounds(context, offset, need, available):
            return "\(context): reading \(need) byte(s) at offset \(offset) runs past the end (\(available) bytes available); the file is truncated or corrupt"
        case let .overflow(context):
            return "\(context): size arithmetic overflows; the file declares impossible sizes"
        case let .invalidShape(context, shape):
            return "\(context): invalid shape \(shape)"
        case let .unsupportedDType(context, dtype):
            return "\(context): unsupported dtype \(dtype)"
        case let .json(context, offset, message):
            return "\(context): invalid JSON at byte \(offset): \(message)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .outputExists(path):
            return "\(path) already exists; pass --force to overwrite it"
        }
    }
}
