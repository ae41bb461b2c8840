/// Heap bytes owned by a tensor that was computed rather than mapped.
public final class OwnedBytes: @unchecked Sendable {
    public let buffer: UnsafeMutableRawBufferPointer

    public init(count: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        if count == 0 { _ = buffer }  // keep a valid pointer for empty tensors
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 {
            buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    deinit { buffer.deallocate() }
}

/// Where a tensor's bytes live: inside a mapped file, or in memory we own.
public enum TensorStorage: Sendable {
    case mapped(MappedFile, offset: Int)
    case owned(OwnedBytes)
}

/// A lazy, typed view of tensor bytes. Creating one from a mapped file validates the range
/// but reads nothing; bytes are touched only inside `withUnsafeBytes`.
public struct TensorView: Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let elementCount: Int
    public let byteCount: Int
    public let storage: TensorStorage

    /// A view of `dtype[shape]` at `offset` in `file`; throws if it does not fit.
    public init(file: MappedFile, offset: Int, dtype: DType, shape: [Int], context: String) throws {
        let count = try ShapeMath.elementCount(shape, context: context)
        let bytes = try ShapeMath.multiply(count, dtype.byteSize, context: context)
        _ = try file.bytes(offset: offset, count: bytes, context: context)
        self.dtype = dtype
        self.shape = shape
        self.elementCount = count
        self.byteCount = bytes
        self.storage = .mapped(file, offset: offset)
    }

    /// A tensor over owned bytes, which must be exactly `elements × dtype size` long.
    public init(owned: OwnedBytes, byteCount: Int, dtype: DType, shape: [Int], context: String = "tensor") throws {
        let count = try ShapeMath.elementCount(shape, context: context)
        let bytes = try ShapeMath.multiply(count, dtype.byteSize, context: context)
        guard bytes == byteCount, byteCount <= owned.buffer.count else {
            throw CoreError.invalidShape(context: "\(context): \(byteCount) bytes for \(dtype.rawValue)", shape: shape)
        }
        self.dtype = dtype
        self.shape = shape
        self.elementCount = count
        self.byteCount = bytes
        self.storage = .owned(owned)
    }

    /// A tensor holding a copy of `values`.
    public static func float32(_ values: [Float], shape: [Int]) throws -> TensorView {
        let owned = OwnedBytes(count: values.count * 4)
        values.withUnsafeBytes { owned.buffer.copyMemory(from: $0) }
        return try TensorView(owned: owned, byteCount: values.count * 4, dtype: .f32, shape: shape)
    }

    /// A tensor holding a copy of raw bytes of `dtype`.
    public static func copying(_ bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) throws -> TensorView {
        try TensorView(owned: OwnedBytes(copying: bytes), byteCount: bytes.count, dtype: dtype, shape: shape)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case let .mapped(file, offset):
            let start = file.bytes.baseAddress.map { $0 + offset }
            return try body(UnsafeRawBufferPointer(start: start, count: byteCount))
        case let .owned(owned):
            return try body(UnsafeRawBufferPointer(start: owned.buffer.baseAddress, count: byteCount))
        }
    }

    /// The file and offset, when the bytes live in a mapped file (lets writers copy in-kernel).
    public var mappedLocation: (file: MappedFile, offset: Int)? {
        if case let .mapped(file, offset) = storage { return (file, offset) }
        return nil
    }

    /// Every element as f32 (copies; for tests, diffs and small tensors).
    public func floats() -> [Float] {
        var result = [Float](repeating: 0, count: elementCount)
        withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            result.withUnsafeMutableBytes { out in
                try? DTypeConversion.convert(UnsafeRawBufferPointer(start: base, count: byteCount), from: dtype,
                                             into: out, to: .f32, count: elementCount)
            }
        }
        return result
    }

    /// This tensor converted to another dtype (a new owned tensor; same tensor if equal). With
    /// `tensor`, finite values that overflow `target` to ±Inf are refused under that name.
    public func converted(to target: DType, refusingOverflowIn tensor: String? = nil) throws -> TensorView {
        if target == dtype { return self }
        let size = try ShapeMath.multiply(elementCount, target.byteSize, context: "convert")
        let owned = OwnedBytes(count: size)
        try withUnsafeBytes { raw in
            if let tensor {
                try DTypeConversion.convert(raw, from: dtype, into: owned.buffer, to: target, count: elementCount,
                                            refusingOverflowIn: tensor)
            } else {
                try DTypeConversion.convert(raw, from: dtype, into: owned.buffer, to: target, count: elementCount)
            }
        }
        return try TensorView(owned: owned, byteCount: size, dtype: target, shape: shape)
    }

    /// Tells the kernel these mapped pages will be read in order, soon (read-ahead).
    public func adviseSequential() {
        if case let .mapped(file, offset) = storage { file.adviseSequential(offset: offset, count: byteCount) }
    }

    /// Releases the mapped pages this view covers from the resident set (see `MappedFile.release`).
    public func releasePages() {
        if case let .mapped(file, offset) = storage { file.release(offset: offset, count: byteCount) }
    }
}
