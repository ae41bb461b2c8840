import QuantaCore

/// Where a tensor's bytes come from when `GGUFWriter` streams them. Each source says its exact
/// byte count up front so every offset is known before the first byte is written.
public enum GGUFTensorData: Sendable {
    /// Bytes already in a mapped file (e.g. a tensor of another GGUF): copied in-kernel.
    case mapped(MappedFile, offset: Int, byteCount: Int)
    /// A Core payload: a view, a dtype conversion, or a producer. For plain ggml types the payload's
    /// dtype must match the type; for block types only its byte count matters.
    case payload(TensorPayload)
    /// Bytes computed on demand into a zeroed buffer of exactly `byteCount` bytes (quantized blocks).
    case produce(byteCount: Int, @Sendable (UnsafeMutableRawBufferPointer) throws -> Void)
    /// Small in-memory bytes (tests, tiny tensors).
    case bytes([UInt8])

    public var byteCount: Int {
        switch self {
        case let .mapped(_, _, count): return count
        case let .payload(payload): return payload.byteCount
        case let .produce(count, _): return count
        case let .bytes(bytes): return bytes.count
        }
    }

    /// The bytes of a tensor from a read GGUF file, copied as they are.
    public static func copy(of tensor: GGUFTensorInfo) -> GGUFTensorData {
        .mapped(tensor.file, offset: tensor.offset, byteCount: tensor.byteCount)
    }

    /// Streams the bytes to `output`.
    func write(to output: OutputFile) throws {
        switch self {
        case let .mapped(file, offset, count):
            try output.copy(from: file, offset: offset, count: count)
            file.release(offset: offset, count: count)
        case let .payload(payload):
            try payload.write(to: output)
        case let .produce(count, producer):
            // TensorPayload's producer path allocates, zeroes, fills and writes exactly `count` bytes.
            try TensorPayload(dtype: .u8, shape: [count], producer: producer).write(to: output)
        case let .bytes(bytes):
            try output.write(bytes)
        }
    }
}
