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
    /// Value checks run while the bytes stream (NaN/±Inf, overflowing casts); nil streams them unchecked.
    public var check: ValueCheck?

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

    /// This payload with `check` run while it streams.
    public func checked(_ check: ValueCheck) -> TensorPayload {
        var copy = self
        copy.check = check
        return copy
    }

    /// Streams the bytes to `output`.
    public func write(to output: OutputFile) throws {
        var sink = output
        try stream(into: &sink)
    }

    /// Streams the bytes into `sink`: a run that stays in a mapped file as one `copy` (in-kernel),
    /// everything else through `write`. With a `check`, the values are scanned on the way: a mapped
    /// run before it is copied, a conversion chunk by chunk, a producer's output once produced.
    public func stream<Sink: PayloadSink>(into sink: inout Sink) throws {
        switch source {
        case let .view(view):
            if let check { try check.conclude(try Self.scan(view, check)) }
            if let (file, offset) = view.mappedLocation {
                try sink.copy(from: file, offset: offset, count: view.byteCount)
            } else {
                try view.withUnsafeBytes { try sink.write($0) }
            }
        case let .convert(view, target):
            // Convert in chunks so memory stays at one chunk whatever the tensor size.
            let chunkElements = 1 << 22
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * target.byteSize, alignment: 64)
            defer { buffer.deallocate() }
            var stats = ValueStats()
            try view.withUnsafeBytes { raw in
                var start = 0
                while start < view.elementCount {
                    let count = min(chunkElements, view.elementCount - start)
                    let src = UnsafeRawBufferPointer(rebasing: raw[(start * view.dtype.byteSize) ..< ((start + count) * view.dtype.byteSize)])
                    if let check {
                        stats.append(ValueScan.scan(src, dtype: view.dtype, count: count))
                        try DTypeConversion.convert(src, from: view.dtype, into: buffer, to: target, count: count,
                                                    refusingOverflowIn: check.tensor, offset: start)
                    } else {
                        try DTypeConversion.convert(src, from: view.dtype, into: buffer, to: target, count: count)
                    }
                    try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0 ..< count * target.byteSize]))
                    // Drop the source pages we are done with, so RSS stays at about one chunk.
                    if let (file, offset) = view.mappedLocation {
                        file.release(offset: offset + start * view.dtype.byteSize, count: count * view.dtype.byteSize)
                    }
                    start += count
                }
            }
            try check?.conclude(stats)
        case let .produce(producer):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
            defer { buffer.deallocate() }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< byteCount])
            target.initializeMemory(as: UInt8.self, repeating: 0)
            try producer(target)
            if let check {
                let elements = byteCount / max(dtype.byteSize, 1)
                try check.conclude(ValueScan.scan(UnsafeRawBufferPointer(target), dtype: dtype, count: elements))
            }
            try sink.write(UnsafeRawBufferPointer(target))
        }
    }

    /// The values of a view: through the check's own scan (ggml blocks) or by dtype, chunk by chunk.
    static func scan(_ view: TensorView, _ check: ValueCheck) throws -> ValueStats {
        guard let sourceScan = check.sourceScan else { return ValueScan.scan(view) }
        defer { view.releasePages() }
        return try view.withUnsafeBytes { try sourceScan($0) }
    }
}

/// Where a payload streams: bytes appended, or a run of a mapped file copied (in-kernel when the
/// sink can). `OutputFile` is one; a zip record (which also checksums) is another.
public protocol PayloadSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
    mutating func copy(from file: MappedFile, offset: Int, count: Int) throws
}

extension OutputFile: PayloadSink {}
