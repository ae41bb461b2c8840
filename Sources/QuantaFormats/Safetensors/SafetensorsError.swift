import QuantaCore

/// Everything that can go wrong reading or writing safetensors files and sharded checkpoints.
/// Each case names the file, and the tensor and byte offset where there is one.
public enum SafetensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    // Reading one file.
    case fileTooSmall(file: String, size: Int)
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    case headerPastEnd(file: String, length: UInt64, fileSize: Int)
    case headerNotUTF8(file: String, offset: Int)
    case headerNotJSON(file: String, offset: Int, message: String)
    case invalidEntry(file: String, key: String, reason: String)
    case invalidMetadata(file: String, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case sizeOverflow(file: String, tensor: String, shape: [Int])
    case sizeMismatch(file: String, tensor: String, dtype: DType, shape: [Int], declared: Int, needed: Int)
    case offsetMismatch(file: String, tensor: String, begin: Int, end: Int, expectedBegin: Int)
    case dataSizeMismatch(file: String, covered: Int, dataSection: Int)

    // Opening a checkpoint (directory, index or file).
    case noCheckpoint(path: String, reason: String)
    case invalidIndex(file: String, reason: String)
    case unsafeShardPath(index: String, tensor: String, shard: String)
    case missingShard(index: String, shard: String)
    case tensorMissingFromShard(index: String, tensor: String, shard: String)
    case tensorInTwoShards(index: String, tensor: String, mappedTo: String, alsoIn: String)
    case tensorNotInIndex(index: String, tensor: String, shard: String)

    // Writing.
    case emptyTensorName(position: Int)
    case duplicateTensorName(name: String)
    case reservedTensorName(name: String)
    case duplicateMetadataKey(key: String)
    case headerTooLargeToWrite(length: Int, limit: Int)
    case payloadSizeMismatch(file: String, tensor: String, expected: Int, written: Int)
    case invalidByteSize(text: String)

    public var description: String {
        switch self {
        case let .fileTooSmall(file, size):
            return "\(file): \(size) bytes is too small for a safetensors file (it starts with an 8-byte header length); the file is truncated or not safetensors"
        case let .headerTooLarge(file, length, limit):
            return "\(file): header length \(length) exceeds the \(limit)-byte limit safetensors allows; the file is corrupt or not safetensors"
        case let .headerPastEnd(file, length, fileSize):
            return "\(file): header length \(length) runs past the end of the \(fileSize)-byte file; the file is truncated or corrupt"
        case let .headerNotUTF8(file, offset):
            return "\(file): header is not valid UTF-8 (byte \(offset)); the file is corrupt"
        case let .headerNotJSON(file, offset, message):
            return "\(file): header is not valid JSON at byte \(offset): \(message)"
        case let .invalidEntry(file, key, reason):
            return "\(file): tensor '\(key)': \(reason)"
        case let .invalidMetadata(file, reason):
            return "\(file): __metadata__ \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)' has dtype \(dtype), which Quanta does not support (supported: \(DType.allCases.map(\.rawValue).joined(separator: " ")))"
        case let .sizeOverflow(file, tensor, shape):
            return "\(file): tensor '\(tensor)' has shape \(shape) whose byte size overflows; the header is corrupt"
        case let .sizeMismatch(file, tensor, dtype, shape, declared, needed):
            let dims = shape.map(String.init).joined(separator: ",")
            return "\(file): tensor '\(tensor)' declares \(declared) bytes for \(dtype.rawValue)[\(dims)] (needs \(needed))"
        case let .offsetMismatch(file, tensor, begin, end, expectedBegin):
            return "\(file): tensor '\(tensor)' has data_offsets [\(begin), \(end)] but the previous tensor ends at \(expectedBegin); tensors must be contiguous, non-overlapping and start at 0"
        case let .dataSizeMismatch(file, covered, dataSection):
            return "\(file): tensors cover \(covered) bytes but the data section holds \(dataSection); the file is truncated or has trailing data"
        case let .noCheckpoint(path, reason):
            return "\(path): \(reason)"
        case let .invalidIndex(file, reason):
            return "\(file): \(reason)"
        case let .unsafeShardPath(index, tensor, shard):
            return "\(index): tensor '\(tensor)' maps to '\(shard)', which is not a plain file name inside the checkpoint folder"
        case let .missingShard(index, shard):
            return "\(index): shard '\(shard)' does not exist next to the index; the checkpoint is incomplete"
        case let .tensorMissingFromShard(index, tensor, shard):
            return "\(index): tensor '\(tensor)' is mapped to '\(shard)' but that shard does not contain it"
        case let .tensorInTwoShards(index, tensor, mappedTo, alsoIn):
            return "\(index): tensor '\(tensor)' is mapped to '\(mappedTo)' but also stored in '\(alsoIn)'"
        case let .tensorNotInIndex(index, tensor, shard):
            return "\(index): shard '\(shard)' contains tensor '\(tensor)', which the weight_map does not list"
        case let .emptyTensorName(position):
            return "tensor #\(position) has an empty name; every tensor needs a name"
        case let .duplicateTensorName(name):
            return "tensor name '\(name)' is used twice; names must be unique"
        case let .reservedTensorName(name):
            return "tensor name '\(name)' is reserved for the header's metadata; rename the tensor"
        case let .duplicateMetadataKey(key):
            return "metadata key '\(key)' is given twice"
        case let .headerTooLargeToWrite(length, limit):
            return "the safetensors header would be \(length) bytes, over the \(limit)-byte limit readers accept; split the tensors over more files"
        case let .payloadSizeMismatch(file, tensor, expected, written):
            return "\(file): tensor '\(tensor)' produced \(written) bytes, expected \(expected)"
        case let .invalidByteSize(text):
            return "'\(text)' is not a size; use an integer number of bytes or an integer with a unit, e.g. 5GB, 500MB, 2GiB"
        }
    }
}
