/// Errors raised while building or exporting a model graph.
public enum GraphError: Error, CustomStringConvertible, Sendable {
    case unmappedTensor(architecture: String, name: String, direction: String)
    case invalidConfig(path: String, key: String, reason: String)
    case missingTensor(name: String, context: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case unsupported(String)
    case unknownFormat(path: String)
    case notFound(path: String)

    public var description: String {
        switch self {
        case let .unmappedTensor(architecture, name, direction):
            return "tensor '\(name)' has no \(direction) name in the \(architecture) table; it is not a tensor this architecture defines"
        case let .invalidConfig(path, key, reason):
            return "\(path): key '\(key)': \(reason)"
        case let .missingTensor(name, context):
            return "\(context): tensor '\(name)' is missing"
        case let .shapeMismatch(name, expected, found):
            return "tensor '\(name)': expected shape \(expected), found \(found)"
        case let .unsupported(message):
            return message
        case let .unknownFormat(path):
            return "\(path): cannot tell the format (not safetensors, GGUF or a PyTorch zip); pass --from"
        case let .notFound(path):
            return "\(path): no such file or directory"
        }
    }
}
