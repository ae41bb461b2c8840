/// What can go wrong reading, checking, computing or writing an importance matrix. Every case
/// names the file, and the entry (tensor) or key when one is at fault.
public enum ImatrixError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file holds no importance data.
    case empty(path: String, reason: String)
    /// A legacy `.dat` field is cut short, out of range or followed by stray bytes.
    case malformed(path: String, offset: Int, reason: String)
    /// A metadata key llama-quantize needs is missing or of the wrong type.
    case metadata(path: String, key: String, reason: String)
    /// One entry is inconsistent: unpaired tensors, wrong type or size, counts of zero, non-finite values.
    case entry(path: String, tensor: String, reason: String)
    /// The model or calibration text cannot give an importance matrix.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .empty(path, reason):
            return "\(path): no importance matrix data: \(reason)"
        case let .malformed(path, offset, reason):
            return "\(path): not a valid legacy imatrix file at byte \(offset): \(reason)"
        case let .metadata(path, key, reason):
            return "\(path): imatrix metadata '\(key)' \(reason)"
        case let .entry(path, tensor, reason):
            return "\(path): imatrix entry '\(tensor)': \(reason)"
        case let .invalidInput(message):
            return message
        }
    }
}
