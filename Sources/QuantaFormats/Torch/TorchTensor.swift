import QuantaCore

/// A storage's bytes inside the checkpoint: the stored `<archive>/data/<key>` record.
public struct TorchStorage: Sendable, Equatable {
    public let key: String
    /// Element type of a typed storage; nil for an untyped (byte) storage.
    public let dtype: DType?
    /// Elements the pickle claims (bytes for an untyped storage); checked against the record.
    public let elementCount: Int
    /// File offset of the record's first byte.
    public let dataOffset: Int
    /// Bytes in the record (at least `elementCount` × element size).
    public let recordSize: Int
}

/// A tensor of a state dict: dtype, shape and the strided window it reads from its storage.
public struct TorchTensor: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// In elements, as torch reports `tensor.stride()`.
    public let strides: [Int]
    /// In elements of `dtype`.
    public let storageOffset: Int
    public let storage: TorchStorage
    public let elementCount: Int
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Row-major strides for `shape`, as torch computes them (a dimension of size 0 counts as 1).
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for index in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[index] = running
            running = running &* max(shape[index], 1)
        }
        return strides
    }

    /// torch's `is_contiguous()`: strides of dimensions of size 1 do not matter, nor do any
    /// strides of an empty tensor.
    public var isContiguous: Bool {
        if elementCount == 0 { return true }
        var expected = 1
        for index in stride(from: shape.count - 1, through: 0, by: -1) where shape[index] != 1 {
            guard strides[index] == expected else { return false }
            expected *= shape[index]
        }
        return true
    }
}

/// Turning a tensor's strided window into bytes.
enum TorchTensorReader {
    /// A view of `tensor`: zero-copy into the map when it is contiguous and needs no byte swap,
    /// otherwise a gathered (and byte-swapped) owned copy. Bounds were checked when the pickle
    /// was read; they are checked again here against the record before any byte is touched.
    static func view(of tensor: TorchTensor, in file: MappedFile, bigEndian: Bool) throws -> TensorView {
        let context = "tensor '\(tensor.name)'"
        let size = tensor.dtype.byteSize
        let reach = try reachableBytes(tensor)
        guard reach <= tensor.storage.recordSize else {
            throw TorchError.invalidTensor(file: file.path, tensor: tensor.name,
                                           reason: "reaches byte \(reach) of storage '\(tensor.storage.key)', which holds \(tensor.storage.recordSize)")
        }
        if tensor.elementCount == 0 {
            // No element is read, so the offset may point anywhere (torch does not check it either).
            return try TensorView(owned: OwnedBytes(count: 0), byteCount: 0, dtype: tensor.dtype, shape: tensor.shape, context: context)
        }
        let swap = bigEndian && size > 1
        if tensor.isContiguous && !swap {
            let offset = try ShapeMath.add(tensor.storage.dataOffset,
                                           try ShapeMath.multiply(tensor.storageOffset, size, context: context), context: context)
            return try TensorView(file: file, offset: offset, dtype: tensor.dtype, shape: tensor.shape, context: context)
        }
        let record = try file.bytes(offset: tensor.storage.dataOffset, count: tensor.storage.recordSize, context: context)
        let owned = OwnedBytes(count: tensor.byteCount)
        gather(tensor, from: record, into: owned.buffer)
        if swap { byteSwap(owned.buffer, elementSize: size, count: tensor.elementCount) }
        return try TensorView(owned: owned, byteCount: tensor.byteCount, dtype: tensor.dtype, shape: tensor.shape, context: context)
    }

    /// One past the last storage byte the tensor reads (0 for an empty tensor).
    static func reachableBytes(_ tensor: TorchTensor) throws -> Int {
        guard tensor.elementCount > 0 else { return 0 }
        let context = "tensor '\(tensor.name)'"
        var last = tensor.storageOffset
        for (dim, stride) in zip(tensor.shape, tensor.strides) {
            last = try ShapeMath.add(last, try ShapeMath.multiply(dim - 1, stride, context: context), context: context)
        }
        return try ShapeMath.multiply(try ShapeMath.add(last, 1, context: context), tensor.dtype.byteSize, context: context)
    }

    /// Copies the tensor's elements in row-major order. Rows (runs along the last dimension) are
    /// split across cores.
    static func gather(_ tensor: TorchTensor, from record: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        let count = tensor.elementCount
        guard count > 0, let source = record.baseAddress, let target = output.baseAddress else { return }
        let size = tensor.dtype.byteSize
        let shape = tensor.shape, strides = tensor.strides
        guard let inner = shape.last, let innerStride = strides.last else {
            target.copyMemory(from: source + tensor.storageOffset * size, byteCount: size)  // 0-d tensor
            return
        }
        let outerShape = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
        let rows = count / inner
        Parallel.forRanges(rows, minimumPerTask: max(1, (1 << 16) / max(inner, 1))) { range in
            // Odometer over the outer dimensions, started at the range's first row.
            var index = [Int](repeating: 0, count: outerShape.count)
            var remainder = range.lowerBound
            for dim in stride(from: outerShape.count - 1, through: 0, by: -1) {
                index[dim] = remainder % outerShape[dim]
                remainder /= outerShape[dim]
            }
            var base = tensor.storageOffset
            for dim in 0 ..< outerShape.count { base += index[dim] * outerStrides[dim] }
            for row in range {
                let destination = target + row * inner * size
                if innerStride == 1 {
                    destination.copyMemory(from: source + base * size, byteCount: inner * size)
                } else {
                    copyStrided(source + base * size, innerStride * size, destination, size, inner)
                }
                // Advance the odometer.
                var dim = outerShape.count - 1
                while dim >= 0 {
                    index[dim] += 1
                    base += outerStrides[dim]
                    if index[dim] < outerShape[dim] { break }
                    base -= outerStrides[dim] * outerShape[dim]
                    index[dim] = 0
                    dim -= 1
                }
            }
        }
    }

    @inline(__always)
    private static func copyStrided(_ source: UnsafeRawPointer, _ sourceStep: Int, _ target: UnsafeMutableRawPointer,
                                    _ size: Int, _ count: Int) {
        switch size {
        case 1:
            for i in 0 ..< count { target.storeBytes(of: source.load(fromByteOffset: i * sourceStep, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
        case 2:
            for i in 0 ..< count { target.storeBytes(of: source.loadUnaligned(fromByteOffset: i * sourceStep, as: UInt16.self), toByteOffset: i * 2, as: UInt16.self) }
        case 4:
            for i in 0 ..< count { target.storeBytes(of: source.loadUnaligned(fromByteOffset: i * sourceStep, as: UInt32.self), toByteOffset: i * 4, as: UInt32.self) }
        default:
            for i in 0 ..< count { target.storeBytes(of: source.loadUnaligned(fromByteOffset: i * sourceStep, as: UInt64.self), toByteOffset: i * 8, as: UInt64.self) }
        }
    }

    /// Reverses the bytes of every element (big-endian checkpoints).
    static func byteSwap(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int, count: Int) {
        guard let base = buffer.baseAddress else { return }
        switch elementSize {
        case 2:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0 ..< count { p[i] = p[i].byteSwapped }
        case 4:
            let p = base.assumingMemoryBound(to: UInt32.self)
            for i in 0 ..< count { p[i] = p[i].byteSwapped }
        case 8:
            let p = base.assumingMemoryBound(to: UInt64.self)
            for i in 0 ..< count { p[i] = p[i].byteSwapped }
        default:
            break
        }
    }
}
