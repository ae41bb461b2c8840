/// What a writer streams for one tensor: bytes already in a view, a view converted to another
/// dtype chunk by chunk, or bytes computed on demand (quantized components). Writers call
/// `write(to:)`, which never holds more than one chunk (or one produced tensor) in memory.
public struct TensorPayload: Sendable {
    public enum Source: Sendable {
        case view(TensorView)
        case convert(TensorView, to: DType)
        case produce(@Sendable (UnsafeMutableRawBufferPointer) throws -> Void)
    }

    public let dtype: DType
    public let shape: [Int]
    public let byteCount: Int
    public let source: Source

    public init(view: TensorView) {
        self.init(dtype: view.dtype, shape: view.shape, byteCount: view.byteCount, source: .view(view))
    }

    private init(dtype: DType, shape: [Int], byteCount: Int, source: Source) {
        self.dtype = dtype; self.shape = shape; self.byteCount = byteCount; self.source = source
    }

    public init(converting view: TensorView, to target: DType) throws {
        if target == view.dtype { self.init(view: view); return }
        guard DTypeConversion.canConvert(from: view.dtype, to: target) else {
            throw CoreError.unsupportedDType(context: "convert \(view.dtype.rawValue) → \(target.rawValue)", dtype: target.rawValue)
        }
        self.init(dtype: target, shape: view.shape,
                  byteCount: try ShapeMath.multiply(view.elementCount, target.byteSize, context: "convert"),
                  source: .convert(view, to: target))
    }

    public init(dtype: DType, shape: [Int], producer: @escaping @Sendable (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        self.init(dtype: dtype, shape: shape, byteCount: try ShapeMath.byteCount(shape, dtype, context: "tensor"),
                  source: .produce(producer))
    }

    /// Streams the bytes to `output`.
    public func write(to output: OutputFile) throws {
        switch source {
        case let .view(view):
            if let (file, offset) = view.mappedLocation {
                try output.copy(from: file, offset: offset, count: view.byteCount)
            } else {
                try view.withUnsafeBytes { try output.write($0) }
            }
        case let .convert(view, target):
            // Convert in chunks so memory stays at one chunk whatever the tensor size.
            let chunkElements = 1 << 22
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * target.byteSize, alignment: 64)
            defer { buffer.deallocate() }
            try view.withUnsafeBytes { raw in
                var start = 0
                while start < view.elementCount {
                    let count = min(chunkElements, view.elementCount - start)
                    let src = UnsafeRawBufferPointer(rebasing: raw[(start * view.dtype.byteSize) ..< ((start + count) * view.dtype.byteSize)])
                    try DTypeConversion.convert(src, from: view.dtype, into: buffer, to: target, count: count)
                    try output.write(UnsafeRawBufferPointer(rebasing: buffer[0 ..< count * target.byteSize]))
                    // Drop the source pages we are done with, so RSS stays at about one chunk.
                    if let (file, offset) = view.mappedLocation {
                        file.release(offset: offset + start * view.dtype.byteSize, count: count * view.dtype.byteSize)
                    }
                    start += count
                }
            }
        case let .produce(producer):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
            defer { buffer.deallocate() }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< byteCount])
            target.initializeMemory(as: UInt8.self, repeating: 0)
            try producer(target)
            try output.write(UnsafeRawBufferPointer(target))
        }
    }
}
