import QuantaFormats

/// Why a ggml block codec call was refused. Every case names the type and the sizes involved.
public enum GGMLCodecError: Error, Equatable, CustomStringConvertible {
    /// This build has no dequantizer (or quantizer) for the type.
    case unsupported(type: GGMLType, operation: String)
    /// The element count is negative or not a whole number of blocks.
    case countNotBlockMultiple(type: GGMLType, count: Int, blockSize: Int)
    /// A buffer does not have exactly the size `count` elements need.
    case bufferSizeMismatch(type: GGMLType, count: Int, buffer: String, expected: Int, actual: Int)
    /// `count` elements of this type need more bytes than an Int can hold.
    case sizeOverflow(type: GGMLType, count: Int)

    public var description: String {
        switch self {
        case let .unsupported(type, operation):
            return "ggml \(operation) is not implemented for \(type.name); convert the tensor to a supported type first"
        case let .countNotBlockMultiple(type, count, blockSize):
            return "\(type.name): element count \(count) is not a non-negative multiple of the block size \(blockSize)"
        case let .bufferSizeMismatch(type, count, buffer, expected, actual):
            return "\(type.name): \(count) elements need a \(buffer) buffer of exactly \(expected), got \(actual)"
        case let .sizeOverflow(type, count):
            return "\(type.name): byte size of \(count) elements overflows"
        }
    }
}
