import QuantaCore

/// One tensor of a read GGUF file: its validated header entry and where its bytes are.
/// Holding it keeps the file mapped, so `bytes` stays valid while the info lives.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml order: `dimensions[0]` (ne[0]) is the innermost, contiguous axis (the row length).
    public let dimensions: [Int]
    /// Row-major order as gguf-py / numpy / PyTorch report it: `dimensions` reversed.
    public var shape: [Int] { dimensions.reversed() }
    public let elementCount: Int
    public let byteCount: Int
    /// Absolute byte offset of the data in the file (data section start + the info's offset).
    public let offset: Int
    /// The offset as stored in the tensor info, relative to the data section.
    public let relativeOffset: Int
    /// The mapped file the bytes live in.
    public let file: MappedFile

    /// The tensor's bytes inside the map (checked against the file size when the file was read).
    /// The pointer is valid only while this info or its `GGUFFile` is alive: do not let it outlive
    /// them (`GGUFFile(path:).tensors[0].bytes` unmaps at once). `withUnsafeBytes` is the safe form.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: file.bytes.baseAddress.map { $0 + offset }, count: byteCount)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(file) { try body(bytes) }
    }

    /// The dtype for plain (non-block) ggml types; nil for block-quantized ones.
    public var plainDType: DType? { type.plainDType }

    /// Drops this tensor's pages from the resident set once a streaming consumer is done with it.
    public func releasePages() { file.release(offset: offset, count: byteCount) }
}

extension GGMLType {
    /// The `DType` holding one element of a plain type, for `TensorView`s; nil for block types.
    public var plainDType: DType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f64: return .f64
        case .i8: return .i8
        case .i16: return .i16
        case .i32: return .i32
        case .i64: return .i64
        default: return nil
        }
    }

    /// The ggml type that stores a `DType` as is, when there is one (U8, BOOL and FP8 have none).
    public init?(plain dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .f64: self = .f64
        case .i8: self = .i8
        case .i16: self = .i16
        case .i32: self = .i32
        case .i64: self = .i64
        default: return nil
        }
    }
}
