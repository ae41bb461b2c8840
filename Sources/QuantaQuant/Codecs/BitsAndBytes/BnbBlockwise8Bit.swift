import QuantaCore

/// bitsandbytes' 8-bit blockwise quantization against a 256-value code (the dynamic map), as its CPU
/// kernels compute it (csrc/cpu_ops.cpp, `quantize_cpu_impl` / `dequantizeBlockwise8bitCpu`). Double
/// quantization uses it for the 4-bit absmax with blocks of 256.
public enum BnbBlockwise8Bit {
    /// `kLUTSize`: the CPU quantizer maps [-1, 1] onto 65536 bins and looks each bin's code index up.
    static let lutSize = 65536

    /// `build_quantize_lut`: bin i holds the value `-1 + 2i / 65535` (f32) and gets the first code
    /// index whose midpoint `0.5 * (c[k] + c[k+1])` is not below it.
    public static func lookupTable(code: [Float]) -> [UInt8] {
        precondition(code.count == 256, "the 8-bit code has 256 values")
        let midpoints = (0 ..< 255).map { Float(0.5) * (code[$0] + code[$0 + 1]) }
        var table = [UInt8](repeating: 0, count: lutSize)
        var index = 0
        for i in 0 ..< lutSize {
            let value = Float(-1.0) + (Float(2.0) * Float(i)) / Float(lutSize - 1)
            while index < 255 && midpoints[index] < value { index += 1 }
            table[i] = UInt8(index)
        }
        return table
    }

    /// The dynamic map's table, built once.
    static let dynamicTable = lookupTable(code: BnbCodeTables.dynamic)

    /// `norm_to_lut_index`: clamp to [-1, 1], then `(v + 1) * 0.5 * 65535 + 0.5` truncated.
    @inline(__always)
    static func lutIndex(_ value: Float) -> Int {
        let v = min(max(value, -1), 1)
        return Int((v + 1) * 0.5 * Float(lutSize - 1) + 0.5)
    }

    /// Quantizes `input` in blocks of `blockSize` against the dynamic map. A block whose absmax is 0 stores
    /// index 0 throughout, as the C kernel does.
    public static func quantizeDynamic(_ input: UnsafeBufferPointer<Float>, blockSize: Int,
                                       into output: UnsafeMutableBufferPointer<UInt8>,
                                       absmax: UnsafeMutableBufferPointer<Float>) {
        let n = input.count
        let blocks = (n + blockSize - 1) / blockSize
        precondition(output.count == n && absmax.count == blocks, "caller sizes the outputs")
        dynamicTable.withUnsafeBufferPointer { lut in
            for block in 0 ..< blocks {
                let start = block * blockSize, end = min(n, start + blockSize)
                var peak: Float = 0
                for i in start ..< end { peak = max(peak, abs(input[i])) }
                absmax[block] = peak
                guard peak != 0 else {
                    for i in start ..< end { output[i] = 0 }
                    continue
                }
                let inverse = 1 / peak
                for i in start ..< end { output[i] = lut[lutIndex(input[i] * inverse)] }
            }
        }
    }

    /// `code[q] * absmax[block]` in f32.
    public static func dequantize(_ input: UnsafeBufferPointer<UInt8>, code: UnsafeBufferPointer<Float>,
                                  absmax: UnsafeBufferPointer<Float>, blockSize: Int,
                                  into output: UnsafeMutableBufferPointer<Float>) throws {
        let n = input.count
        guard blockSize > 0, code.count == 256, output.count == n,
              absmax.count >= (n + blockSize - 1) / blockSize else {
            throw BnbCodecError.sizeMismatch("8-bit blockwise dequantize of \(n) values: \(absmax.count) absmax for blocks of \(blockSize), code of \(code.count)")
        }
        for i in 0 ..< n { output[i] = code[Int(input[i])] * absmax[i / blockSize] }
    }
}

/// Double quantization of the 4-bit absmax (`quantize_4bit(compress_statistics=True)`): the mean is
/// subtracted and kept as `nested_offset`, the rest quantized 8-bit blockwise (blocks of 256) with the
/// dynamic map.
public enum BnbDoubleQuant {
    public static let nestedBlockSize = 256

    public struct Compressed: Sendable {
        public var quantized: [UInt8]
        public var nestedAbsmax: [Float]
        public var offset: Float
    }

    /// `torchThreads`: torch's intra-op thread count on the reference side; it only matters above 32768
    /// blocks, where torch's mean sums one chunk per thread.
    public static func compress(_ absmax: [Float], torchThreads: Int = Parallel.cores) -> Compressed {
        let offset = absmax.withUnsafeBufferPointer { TorchFloatSum.mean($0, threads: torchThreads) }
        let centered = absmax.map { $0 - offset }
        var quantized = [UInt8](repeating: 0, count: centered.count)
        var nested = [Float](repeating: 0, count: (centered.count + nestedBlockSize - 1) / nestedBlockSize)
        centered.withUnsafeBufferPointer { input in
            quantized.withUnsafeMutableBufferPointer { q in
                nested.withUnsafeMutableBufferPointer { a in
                    BnbBlockwise8Bit.quantizeDynamic(input, blockSize: nestedBlockSize, into: q, absmax: a)
                }
            }
        }
        return Compressed(quantized: quantized, nestedAbsmax: nested, offset: offset)
    }

    /// The per-block absmax back: `dequantize_blockwise(q, state2) + offset` in f32.
    public static func expand(quantized: UnsafeBufferPointer<UInt8>, nestedAbsmax: UnsafeBufferPointer<Float>,
                              nestedCode: UnsafeBufferPointer<Float>, nestedBlockSize: Int, offset: Float) throws -> [Float] {
        var values = [Float](repeating: 0, count: quantized.count)
        try values.withUnsafeMutableBufferPointer { out in
            try BnbBlockwise8Bit.dequantize(quantized, code: nestedCode, absmax: nestedAbsmax, blockSize: nestedBlockSize, into: out)
        }
        for i in values.indices { values[i] += offset }
        return values
    }
}
