/// Quantizers for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, byte-identical to gguf-py 0.19.0
/// (`Q4_0.quantize_blocks` …), which mirrors llama.cpp's `quantize_row_*_ref`.
///
/// What exactness takes, step by step as numpy does it (all f32, one rounding per operation):
/// - scale: symmetric types use the element of largest |x| *with its sign* (first one on ties,
///   first NaN wins) and `d = max / -8` (Q4_0) or `/ -16` (Q5_0); Q8_0 uses `d = amax / 127`;
///   asymmetric types use `d = (max − min) / 15` (or 31) with numpy's reduction semantics
///   (NaN propagates, on equal values the later one wins, which decides the sign of a zero).
/// - `id = d == 0 ? 0 : 1 / d` in f32.
/// - index: `trunc(x·id + 8.5)` (16.5; `(x − min)·id + 0.5` for Q4_1/Q5_1) cast to uint8 the numpy
///   way, then clipped to 15 (31). Q8_0 rounds half away from zero (`np_roundf`) and casts to int8.
/// - d (and m) stored as f16 with numpy's rounding. An all-zero block gives d = −0 for Q4_0/Q5_0
///   (0 / −8), so its f16 is 0x8000.
enum GGMLLegacyQuantizers {
    static func quantizeQ4_0(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for b in 0 ..< count {
            let x = input + b * 32
            let block = blocks + b * 18
            let d = signedAbsMax(x) / -8
            let id: Float = d == 0 ? 0 : 1 / d
            GGMLScalarBits.storeHalf(d, block, 0)
            for j in 0 ..< 16 {
                let low = min(GGMLScalarBits.castToUInt8(x[j] * id + 8.5), 15)
                let high = min(GGMLScalarBits.castToUInt8(x[j + 16] * id + 8.5), 15)
                block.storeBytes(of: low | high << 4, toByteOffset: 2 + j, as: UInt8.self)
            }
        }
    }

    static func quantizeQ4_1(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for b in 0 ..< count {
            let x = input + b * 32
            let block = blocks + b * 20
            let (lowest, highest) = minMax(x)
            let d = (highest - lowest) / 15
            let id: Float = d == 0 ? 0 : 1 / d
            GGMLScalarBits.storeHalf(d, block, 0)
            GGMLScalarBits.storeHalf(lowest, block, 2)
            for j in 0 ..< 16 {
                let low = min(GGMLScalarBits.castToUInt8((x[j] - lowest) * id + 0.5), 15)
                let high = min(GGMLScalarBits.castToUInt8((x[j + 16] - lowest) * id + 0.5), 15)
                block.storeBytes(of: low | high << 4, toByteOffset: 4 + j, as: UInt8.self)
            }
        }
    }

    static func quantizeQ5_0(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for b in 0 ..< count {
            let x = input + b * 32
            let block = blocks + b * 22
            let d = signedAbsMax(x) / -16
            let id: Float = d == 0 ? 0 : 1 / d
            GGMLScalarBits.storeHalf(d, block, 0)
            var qh: UInt32 = 0
            for j in 0 ..< 16 {
                let low = min(GGMLScalarBits.castToUInt8(x[j] * id + 16.5), 31)
                let high = min(GGMLScalarBits.castToUInt8(x[j + 16] * id + 16.5), 31)
                block.storeBytes(of: (low & 0x0F) | high << 4, toByteOffset: 6 + j, as: UInt8.self)
                qh |= UInt32(low >> 4) << UInt32(j) | UInt32(high >> 4) << UInt32(j + 16)
            }
            block.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
        }
    }

    static func quantizeQ5_1(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for b in 0 ..< count {
            let x = input + b * 32
            let block = blocks + b * 24
            let (lowest, highest) = minMax(x)
            let d = (highest - lowest) / 31
            let id: Float = d == 0 ? 0 : 1 / d
            GGMLScalarBits.storeHalf(d, block, 0)
            GGMLScalarBits.storeHalf(lowest, block, 2)
            var qh: UInt32 = 0
            for j in 0 ..< 16 {
                let low = min(GGMLScalarBits.castToUInt8((x[j] - lowest) * id + 0.5), 31)
                let high = min(GGMLScalarBits.castToUInt8((x[j + 16] - lowest) * id + 0.5), 31)
                block.storeBytes(of: (low & 0x0F) | high << 4, toByteOffset: 8 + j, as: UInt8.self)
                qh |= UInt32(low >> 4) << UInt32(j) | UInt32(high >> 4) << UInt32(j + 16)
            }
            block.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
    }

    static func quantizeQ8_0(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for b in 0 ..< count {
            let x = input + b * 32
            let block = blocks + b * 34
            var amax: Float = 0
            for j in 0 ..< 32 {
                let a = abs(x[j])
                if a.isNaN { amax = a; break }  // np.max propagates NaN
                if a > amax { amax = a }
            }
            let d = amax / 127
            let id: Float = d == 0 ? 0 : 1 / d
            GGMLScalarBits.storeHalf(d, block, 0)
            for j in 0 ..< 32 {
                // np_roundf: half away from zero (inf becomes NaN there; both cast to 0).
                let q = GGMLScalarBits.castToInt8((x[j] * id).rounded(.toNearestOrAwayFromZero))
                block.storeBytes(of: q, toByteOffset: 2 + j, as: Int8.self)
            }
        }
    }

    /// The element with the largest magnitude, sign kept: numpy `abs(x).argmax()` (first maximum,
    /// or the first NaN) then `take_along_axis`.
    @inline(__always)
    private static func signedAbsMax(_ x: UnsafePointer<Float>) -> Float {
        var best = 0
        var bestMagnitude = abs(x[0])
        if !bestMagnitude.isNaN {
            for j in 1 ..< 32 {
                let a = abs(x[j])
                if a.isNaN { best = j; break }
                if a > bestMagnitude { best = j; bestMagnitude = a }
            }
        }
        return x[best]
    }

    /// numpy `min()` and `max()` of one block: a NaN propagates (the first one), and among equal
    /// values the later element wins (this fixes the sign of a zero result, as numpy's loops do).
    @inline(__always)
    private static func minMax(_ x: UnsafePointer<Float>) -> (min: Float, max: Float) {
        var lowest = x[0], highest = x[0]
        if lowest.isNaN { return (lowest, highest) }
        for j in 1 ..< 32 {
            let v = x[j]
            if v.isNaN { return (v, v) }
            if v <= lowest { lowest = v }
            if v >= highest { highest = v }
        }
        return (lowest, highest)
    }
}
