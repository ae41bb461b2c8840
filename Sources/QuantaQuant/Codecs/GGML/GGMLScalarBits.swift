/// Scalar conversions exactly as gguf-py 0.19.0 computes them with numpy 2.x on x86-64.
///
/// They differ from plain IEEE/Swift conversions only in corner cases that matter for
/// bit-exactness: numpy's half-float code keeps NaN payloads (it does not quiet signalling
/// NaNs), gguf-py's bf16 rounding has its own NaN rule, and numpy's float → small-integer casts
/// behave like the C conversion on x86-64 (truncate into 32 bits, NaN and out-of-range give
/// 0x80000000, keep the low byte).
enum GGMLScalarBits {
    /// f16 bits → f32, as numpy `npy_halfbits_to_floatbits` (numpy/_core/src/npymath/halffloat.cpp):
    /// exact for numbers, NaN payload shifted up unchanged (a signalling NaN stays signalling).
    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = h & 0x7C00
        if exponent == 0x7C00 {
            return Float(bitPattern: sign | 0x7F80_0000 | (UInt32(h & 0x03FF) << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24, exact in f32.
            let magnitude = Float(h & 0x03FF) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        }
        // Rebias the exponent from 15 to 127: add 112 << 23.
        return Float(bitPattern: sign | ((UInt32(h & 0x7FFF) << 13) &+ 0x3800_0000))
    }

    /// f32 → f16 bits with round-to-nearest-even, as numpy `npy_floatbits_to_halfbits`:
    /// overflow gives ±inf, NaN keeps the top 10 payload bits (forced non-zero).
    @inline(__always)
    static func floatToHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            let nan = UInt16(truncatingIfNeeded: 0x7C00 &+ ((magnitude & 0x007F_FFFF) >> 13))
            return sign | (nan == 0x7C00 ? 0x7C01 : nan)
        }
        if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // ≥ 2^16: beyond any rounding to 65504
        let exponent = magnitude >> 23
        if exponent < 113 {
            // Below 2^-14: an f16 subnormal (or zero). Count units of 2^-24 and round half to even.
            if exponent < 102 { return sign }  // < 2^-25 rounds to zero
            let significand = (magnitude & 0x007F_FFFF) | 0x0080_0000
            let shift = 126 - exponent  // 14 ... 24
            var units = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let half: UInt32 = 1 << (shift - 1)
            if remainder > half || (remainder == half && units & 1 == 1) { units += 1 }
            return sign | UInt16(truncatingIfNeeded: units)
        }
        var half = ((exponent - 112) << 10) | ((magnitude & 0x007F_FFFF) >> 13)
        let remainder = magnitude & 0x1FFF
        // A carry out of the mantissa bumps the exponent, up to 0x7C00 (inf): the right answer.
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// bf16 bits → f32 (gguf-py `BF16.dequantize_blocks`: the bits shifted up by 16).
    @inline(__always)
    static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// f32 → bf16 bits as gguf-py `BF16.quantize_blocks` (= ggml_compute_fp32_to_bf16):
    /// a NaN keeps its top half with the quiet bit set; everything else rounds to nearest even.
    @inline(__always)
    static func floatToBF16(_ value: Float) -> UInt16 {
        var n = value.bitPattern
        if n & 0x7FFF_FFFF > 0x7F80_0000 { n = (n & 0xFFFF_0000) | 0x0040_0000 }
        let rounded = (UInt64(n) + UInt64(0x7FFF + ((n >> 16) & 1))) >> 16
        return UInt16(truncatingIfNeeded: rounded)
    }

    /// E8M0 scale byte → f32 half the power of two (gguf-py `MXFP4.e8m0_to_fp32_half`,
    /// ggml-impl.h `ggml_e8m0_to_fp32_half`).
    @inline(__always)
    static func e8m0ToFloatHalf(_ x: UInt8) -> Float {
        x < 2 ? Float(bitPattern: UInt32(0x0020_0000) << UInt32(x)) : Float(bitPattern: UInt32(x - 1) << 23)
    }

    /// numpy `astype(np.uint8)` of one f32 on x86-64: truncation toward zero into a 32-bit integer
    /// (NaN and |x| ≥ 2^31 give 0x80000000) and the low byte kept.
    @inline(__always)
    static func castToUInt8(_ value: Float) -> UInt8 {
        guard abs(value) < 2_147_483_648 else { return 0 }  // also NaN
        return UInt8(truncatingIfNeeded: Int32(value))
    }

    /// numpy `astype(np.int8)` of one f32 on x86-64 (see `castToUInt8`).
    @inline(__always)
    static func castToInt8(_ value: Float) -> Int8 {
        guard abs(value) < 2_147_483_648 else { return 0 }
        return Int8(truncatingIfNeeded: Int32(value))
    }

    @inline(__always)
    static func loadHalf(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func storeHalf(_ value: Float, _ base: UnsafeMutableRawPointer, _ offset: Int) {
        base.storeBytes(of: floatToHalf(value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}
