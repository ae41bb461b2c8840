import QuantaCore
import QuantaGraph

/// bitsandbytes 4-bit blockwise quantization (NF4 / FP4), byte-identical to bitsandbytes 0.50.2's
/// `quantize_4bit` on CPU (backends/default/ops.py) and to its `dequantize_4bit`.
///
/// Layout: values are cut into flat blocks of `blockSize` (the last block may be short); each block
/// keeps its absmax (f32) and each value the index of the nearest code value of `x / absmax`. Two
/// indices per byte, the first in the high nibble; an odd count pads one zero value (its index).
public enum Bnb4BitCodec {
    /// `quantize_4bit`'s accepted block sizes.
    public static let validBlockSizes = [32, 64, 128, 256, 512, 1024, 2048, 4096]

    public static func code(_ kind: QuantScheme.Bnb4Kind) -> [Float] {
        kind == .nf4 ? BnbCodeTables.nf4 : BnbCodeTables.fp4
    }

    public static func blockCount(_ count: Int, blockSize: Int) -> Int { (count + blockSize - 1) / blockSize }

    /// Bytes of packed nibbles: `(count + 1) / 2`, stored by bitsandbytes as shape `[bytes, 1]`.
    public static func packedByteCount(_ count: Int) -> Int { (count + 1) / 2 }

    /// Bucket boundaries and the bucket → code index map, as `_get_4bit_quantize_bounds`: midpoints of the
    /// sorted code, `(a + b) / 2` in f32. torch.bucketize (right=False) puts a value equal to a midpoint in
    /// the lower bucket. FP4's argsort puts +0 (code 0) before the other zero (code 8), so values in
    /// (0, 0.0026] get code 8 — bitsandbytes' order, kept as it is.
    struct Buckets {
        let bounds: [Float]     // 15 ascending midpoints
        let codeIndex: [UInt8]  // bucket → nibble

        init(_ kind: QuantScheme.Bnb4Kind) {
            switch kind {
            case .nf4:
                let code = BnbCodeTables.nf4
                bounds = (0 ..< 15).map { (code[$0] + code[$0 + 1]) / 2 }
                codeIndex = (0 ..< 16).map { UInt8($0) }
            case .fp4:
                // torch.argsort of the FP4 code on CPU (bitsandbytes 0.50.2, torch 2.15).
                let order: [UInt8] = [11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3]
                let code = BnbCodeTables.fp4
                bounds = (0 ..< 15).map { (code[Int(order[$0])] + code[Int(order[$0 + 1])]) / 2 }
                codeIndex = order
            }
        }

        @inline(__always)
        func bucket(_ scaled: Float) -> Int {
            var q = 0
            for b in bounds where scaled > b { q += 1 }
            return q
        }
    }

    /// The smallest divisor bitsandbytes uses (`absmax.clamp(min=1e-38)` in f32), so an all-zero block
    /// scales by a finite number and stores absmax 0.
    static let minimumDivisor = Float(1e-38)

    /// Quantizes `input` (f32; f16/bf16 inputs are converted exactly first, as bitsandbytes does with
    /// `.float()`). `packed` must hold `packedByteCount(count)` bytes, `absmax` `blockCount` floats.
    public static func quantize(_ input: UnsafeBufferPointer<Float>, kind: QuantScheme.Bnb4Kind, blockSize: Int,
                                packed: UnsafeMutableBufferPointer<UInt8>, absmax: UnsafeMutableBufferPointer<Float>) throws {
        let count = input.count
        guard validBlockSizes.contains(blockSize) else { throw BnbCodecError.invalidBlockSize(blockSize) }
        let blocks = blockCount(count, blockSize: blockSize)
        guard packed.count == packedByteCount(count), absmax.count == blocks else {
            throw BnbCodecError.sizeMismatch("4-bit quantize of \(count) values: \(packed.count) packed bytes, \(absmax.count) absmax (expected \(packedByteCount(count)), \(blocks))")
        }
        guard count > 0, let src = input.baseAddress, let dst = packed.baseAddress, let scales = absmax.baseAddress else { return }
        let buckets = Buckets(kind)
        let fullBlocks = count / blockSize
        buckets.bounds.withUnsafeBufferPointer { bounds in
            buckets.codeIndex.withUnsafeBufferPointer { codeIndex in
                Parallel.forRanges(fullBlocks, minimumPerTask: max(1, 16384 / blockSize)) { range in
                    for block in range {
                        scales[block] = quantizeFullBlock(src + block * blockSize, blockSize: blockSize,
                                                          into: dst + block * blockSize / 2, bounds: bounds, codeIndex: codeIndex)
                    }
                }
                let tail = count - fullBlocks * blockSize
                if tail > 0 {
                    scales[fullBlocks] = quantizeTail(src + fullBlocks * blockSize, count: tail,
                                                      into: dst + fullBlocks * blockSize / 2, buckets: buckets)
                }
            }
        }
    }

    /// A full block: `x * (1 / absmax)` (torch multiplies by the reciprocal). Written for 4-lane SIMD
    /// (the x86-64 baseline's SSE width, so nothing spills): the absmax compares the magnitude bits as
    /// integers (same order as the floats), the bucket is the count of bounds below the value.
    @inline(__always)
    static func quantizeFullBlock(_ x: UnsafePointer<Float>, blockSize: Int, into out: UnsafeMutablePointer<UInt8>,
                                  bounds: UnsafeBufferPointer<Float>, codeIndex: UnsafeBufferPointer<UInt8>) -> Float {
        let raw = UnsafeRawPointer(x)
        var peak = SIMD4<Int32>(repeating: 0)
        var j = 0
        while j < blockSize {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD4<Int32>.self) & 0x7FFF_FFFF
            peak.replace(with: v, where: v .> peak)
            j += 4
        }
        let blockMax = Float(bitPattern: UInt32(max(max(peak[0], peak[1]), max(peak[2], peak[3]))))
        let scale = SIMD4<Float>(repeating: 1 / max(blockMax, minimumDivisor))
        let identity = codeIndex[15] == 15
        let words = UnsafeMutableRawPointer(out)
        j = 0
        while j < blockSize {
            let a = bucket(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD4<Float>.self) * scale, bounds)
            let b = bucket(raw.loadUnaligned(fromByteOffset: j * 4 + 16, as: SIMD4<Float>.self) * scale, bounds)
            var word: UInt32
            if identity {
                let lo = (a.evenHalf &<< 4) | a.oddHalf, hi = (b.evenHalf &<< 4) | b.oddHalf
                word = UInt32(truncatingIfNeeded: lo[0]) | UInt32(truncatingIfNeeded: lo[1]) << 8
                    | UInt32(truncatingIfNeeded: hi[0]) << 16 | UInt32(truncatingIfNeeded: hi[1]) << 24
            } else {
                func code(_ q: Int32) -> UInt32 { UInt32(codeIndex[Int(q)]) }
                word = (code(a[0]) << 4 | code(a[1])) | (code(a[2]) << 4 | code(a[3])) << 8
                    | (code(b[0]) << 4 | code(b[1])) << 16 | (code(b[2]) << 4 | code(b[3])) << 24
            }
            words.storeBytes(of: word.littleEndian, toByteOffset: j / 2, as: UInt32.self)
            j += 8
        }
        return blockMax
    }

    /// torch.bucketize (right=False) of 4 scaled values: how many bounds lie strictly below each.
    @inline(__always)
    static func bucket(_ s: SIMD4<Float>, _ bounds: UnsafeBufferPointer<Float>) -> SIMD4<Int32> {
        var q = SIMD4<Int32>(repeating: 0)
        for k in 0 ..< 15 {
            q &-= unsafeBitCast(s .> SIMD4<Float>(repeating: bounds[k]), to: SIMD4<Int32>.self)
        }
        return q
    }

    /// The short last block: bitsandbytes divides by its absmax here (`A_flat[full:] / am`), not
    /// multiplies by the reciprocal, and an odd count pads one 0.0 as the last low nibble.
    static func quantizeTail(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt8>,
                             buckets: Buckets) -> Float {
        var blockMax: Float = 0
        for i in 0 ..< count { blockMax = max(blockMax, abs(x[i])) }
        let divisor = max(blockMax, minimumDivisor)
        var i = 0
        while i < count {
            let hi = buckets.codeIndex[buckets.bucket(x[i] / divisor)]
            let lo = buckets.codeIndex[buckets.bucket(i + 1 < count ? x[i + 1] / divisor : 0)]
            out[i / 2] = hi << 4 | lo
            i += 2
        }
        return blockMax
    }

    /// `dequantize_4bit` in f32: `code[nibble] * absmax[block]` (the product bitsandbytes computes before
    /// rounding to the state's dtype). `absmax` is the plain (already expanded) per-block absmax.
    public static func dequantize(packed: UnsafeBufferPointer<UInt8>, absmax: UnsafeBufferPointer<Float>,
                                  kind: QuantScheme.Bnb4Kind, blockSize: Int,
                                  into output: UnsafeMutableBufferPointer<Float>) throws {
        let count = output.count
        guard blockSize > 0, blockSize % 2 == 0 else { throw BnbCodecError.invalidBlockSize(blockSize) }
        guard packed.count >= packedByteCount(count), absmax.count >= blockCount(count, blockSize: blockSize) else {
            throw BnbCodecError.sizeMismatch("4-bit dequantize of \(count) values needs \(packedByteCount(count)) bytes and \(blockCount(count, blockSize: blockSize)) absmax; found \(packed.count) and \(absmax.count)")
        }
        guard count > 0, let src = packed.baseAddress, let scales = absmax.baseAddress, let dst = output.baseAddress else { return }
        let table = code(kind)
        let blocks = blockCount(count, blockSize: blockSize)
        table.withUnsafeBufferPointer { code in
            Parallel.forRanges(blocks, minimumPerTask: max(1, 16384 / blockSize)) { range in
                for block in range {
                    let start = block * blockSize
                    let end = min(count, start + blockSize)
                    let scale = scales[block]
                    var i = start
                    while i + 1 < end {
                        let byte = src[i >> 1]
                        dst[i] = code[Int(byte >> 4)] * scale
                        dst[i + 1] = code[Int(byte & 0x0F)] * scale
                        i += 2
                    }
                    if i < end { dst[i] = code[Int(src[i >> 1] >> 4)] * scale }
                }
            }
        }
    }
}

/// Errors from the bitsandbytes codecs.
public enum BnbCodecError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidBlockSize(Int)
    case sizeMismatch(String)
    case invalidQuantState(tensor: String, reason: String)
    /// NaN/±Inf in the values to quantize, or a statistic (absmax, SCB) that would be written non-finite.
    case nonFinite(tensor: String, what: String)

    public var description: String {
        switch self {
        case let .invalidBlockSize(size):
            return "bitsandbytes block size \(size) is not supported: use one of \(Bnb4BitCodec.validBlockSizes.map(String.init).joined(separator: ", "))"
        case let .sizeMismatch(message):
            return "bitsandbytes codec: \(message)"
        case let .invalidQuantState(tensor, reason):
            return "tensor '\(tensor)': bitsandbytes quant_state is invalid: \(reason)"
        case let .nonFinite(tensor, what):
            return "bitsandbytes cannot quantize tensor '\(tensor)': it has \(what)"
        }
    }
}
