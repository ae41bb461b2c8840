/// Everything that can go wrong reading or writing a GGUF file. Reading errors carry the file path
/// and the byte offset where the bad field starts; tensor and key errors name the tensor or key.
public enum GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    // Reading: the container
    case notGGUF(path: String, magic: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    case bigEndian(path: String, rawVersion: UInt32)
    case truncated(path: String, what: String, offset: Int, need: Int, available: Int)
    case limitExceeded(path: String, what: String, value: UInt64, limit: UInt64, offset: Int)
    case invalidUTF8(path: String, what: String, offset: Int)
    // Reading: metadata
    case emptyKey(path: String, offset: Int)
    case duplicateKey(path: String, key: String, offset: Int)
    case invalidValueType(path: String, key: String, typeID: UInt32, offset: Int)
    case invalidBool(path: String, key: String, byte: UInt8, offset: Int)
    case invalidAlignment(path: String, reason: String)
    // Reading: tensors
    case duplicateTensor(path: String, tensor: String, offset: Int)
    case tooManyDimensions(path: String, tensor: String, count: UInt32, offset: Int)
    case invalidDimensions(path: String, tensor: String, dimensions: [UInt64], reason: String, offset: Int)
    case unknownTensorType(path: String, tensor: String, typeID: UInt32, offset: Int)
    case rowNotBlockMultiple(path: String, tensor: String, type: GGMLType, rowLength: Int, offset: Int)
    case misalignedTensor(path: String, tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfFile(path: String, tensor: String, start: Int, byteCount: Int, fileSize: Int)
    case overlappingTensors(path: String, first: String, second: String, offset: Int)
    // Lookups on a read file
    case missingKey(path: String, key: String)
    case wrongValueType(path: String, key: String, expected: String, found: GGUFValueType)
    case missingTensor(path: String, tensor: String)
    case notAPlainTensor(path: String, tensor: String, type: GGMLType)
    // Writing
    case invalidMetadata(key: String, reason: String)
    case invalidTensor(tensor: String, reason: String)
    case dataSizeMismatch(tensor: String, expected: Int, actual: Int)
    case writerState(expected: String, actual: String)

    public var description: String {
        switch self {
        case let .notGGUF(path, magic):
            let shown = magic.map { ($0 >= 0x20 && $0 < 0x7F) ? String(UnicodeScalar($0)) : "?" }.joined()
            return "\(path): not a GGUF file (magic '\(shown)', expected 'GGUF')"
        case let .unsupportedVersion(path, version):
            if version == 1 {
                return "\(path): GGUF version 1 is no longer supported (llama.cpp dropped it too); re-convert the model with a current converter"
            }
            return "\(path): GGUF version \(version) is not supported (this build reads versions 2 and 3)"
        case let .bigEndian(path, rawVersion):
            return "\(path): this is a big-endian GGUF file (version field reads \(rawVersion) little-endian); only little-endian files are supported, convert it on a little-endian machine"
        case let .truncated(path, what, offset, need, available):
            return "\(path): \(what) at byte \(offset) needs \(need) byte(s) but the file has \(max(0, available - offset)) left; the file is truncated or corrupt"
        case let .limitExceeded(path, what, value, limit, offset):
            return "\(path): \(what) at byte \(offset) is \(value), over the limit of \(limit); the file is corrupt or hostile"
        case let .invalidUTF8(path, what, offset):
            return "\(path): \(what) at byte \(offset) is not valid UTF-8"
        case let .emptyKey(path, offset):
            return "\(path): metadata key at byte \(offset) is empty"
        case let .duplicateKey(path, key, offset):
            return "\(path): metadata key '\(key)' appears twice (second at byte \(offset))"
        case let .invalidValueType(path, key, typeID, offset):
            return "\(path): metadata key '\(key)' has unknown value type \(typeID) at byte \(offset) (valid: 0–12)"
        case let .invalidBool(path, key, byte, offset):
            return "\(path): metadata key '\(key)' has a BOOL byte \(byte) at byte \(offset); only 0 and 1 are valid"
        case let .invalidAlignment(path, reason):
            return "\(path): general.alignment \(reason)"
        case let .duplicateTensor(path, tensor, offset):
            return "\(path): tensor '\(tensor)' appears twice (second info at byte \(offset))"
        case let .tooManyDimensions(path, tensor, count, offset):
            return "\(path): tensor '\(tensor)' (info at byte \(offset)) has \(count) dimensions; ggml allows at most \(GGUFLimits.maxDimensions)"
        case let .invalidDimensions(path, tensor, dimensions, reason, offset):
            return "\(path): tensor '\(tensor)' (info at byte \(offset)) has dimensions \(dimensions): \(reason)"
        case let .unknownTensorType(path, tensor, typeID, offset):
            return "\(path): tensor '\(tensor)' (info at byte \(offset)) has unknown ggml type id \(typeID); this build knows \(GGMLType.allCases.map { "\($0.rawValue)" }.joined(separator: ","))"
        case let .rowNotBlockMultiple(path, tensor, type, rowLength, offset):
            return "\(path): tensor '\(tensor)' (info at byte \(offset)) is \(type.name) but its row length \(rowLength) is not a multiple of the block size \(type.blockSize)"
        case let .misalignedTensor(path, tensor, offset, alignment):
            return "\(path): tensor '\(tensor)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfFile(path, tensor, start, byteCount, fileSize):
            return "\(path): tensor '\(tensor)' data (\(byteCount) bytes at byte \(start)) runs past the end of the file (\(fileSize) bytes); the file is truncated or corrupt"
        case let .overlappingTensors(path, first, second, offset):
            return "\(path): tensors '\(first)' and '\(second)' overlap at byte \(offset)"
        case let .missingKey(path, key):
            return "\(path): metadata key '\(key)' is missing"
        case let .wrongValueType(path, key, expected, found):
            return "\(path): metadata key '\(key)' is \(found.name), expected \(expected)"
        case let .missingTensor(path, tensor):
            return "\(path): no tensor named '\(tensor)'"
        case let .notAPlainTensor(path, tensor, type):
            return "\(path): tensor '\(tensor)' is \(type.name), a block-quantized type; dequantize it instead of viewing its bytes as elements"
        case let .invalidMetadata(key, reason):
            return "GGUF metadata '\(key)': \(reason)"
        case let .invalidTensor(tensor, reason):
            return "GGUF tensor '\(tensor)': \(reason)"
        case let .dataSizeMismatch(tensor, expected, actual):
            return "GGUF tensor '\(tensor)': its data is \(actual) bytes but its type and shape need \(expected)"
        case let .writerState(expected, actual):
            return "GGUF writer used out of order: expected to be \(expected), but it is \(actual)"
        }
    }
}
