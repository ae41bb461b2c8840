/// Scalar conversions between f32 and the narrow float encodings, with the rounding the
/// reference libraries use, so converted bytes equal theirs.
public enum FloatBits {
    /// bf16 → f32 is exact: the bf16 bits are the top half of the f32.
    @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 → bf16, round to nearest even; every NaN (either sign) becomes 0x7FC0.
    /// Same as c10::BFloat16's scalar `round_to_nearest_even` used by torch `.to(torch.bfloat16)`.
    @inline(__always)
    public static func floatToBF16(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let roundingBias: UInt32 = ((bits >> 16) & 1) &+ 0x7FFF
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    @inline(__always)
    public static func f16ToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// f32 → f16, IEEE round to nearest even (as numpy and torch).
    @inline(__always)
    public static func floatToF16(_ value: Float) -> UInt16 { Float16(value).bitPattern }

    /// OCP F8 E4M3FN: bias 7, no infinities, 0x7F/0xFF are NaN, max 448.
    public static func f8e4m3ToFloat(_ byte: UInt8) -> Float {
        let sign: Float = byte & 0x80 != 0 ? -1 : 1
        let exponent = Int((byte >> 3) & 0x0F)
        let mantissa = Float(byte & 0x07)
        if exponent == 0x0F && byte & 0x07 == 0x07 {
            // c10 keeps sign and mantissa bits in the NaN it returns (0x7F → 0x7FF00000).
            return Float(bitPattern: UInt32(byte & 0x80) << 24 | 0x7F80_0000 | UInt32(byte & 0x07) << 20)
        }
        if exponent == 0 { return sign * mantissa / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }

    /// F8 E5M2: the top byte of an IEEE f16.
    @inline(__always)
    public static func f8e5m2ToFloat(_ byte: UInt8) -> Float { f16ToFloat(UInt16(byte) << 8) }

    /// f32 → E4M3FN, round to nearest even; |x| ≥ 464 and ±inf saturate to ±448, NaN stays NaN
    /// (with its sign), as c10's `fp8e4m3fn_from_fp32_value` does (the format has no infinity).
    public static func floatToF8E4M3(_ value: Float) -> UInt8 {
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        let magnitude = abs(value)
        if magnitude.isNaN { return sign | 0x7F }
        if magnitude >= 464 { return sign | 0x7E }
        return sign | encodeSmallFloat(magnitude, exponentBits: 4, mantissaBits: 3, bias: 7)
    }

    /// f32 → E5M2, round to nearest even; |x| ≥ 65536 becomes infinity, NaN stays NaN
    /// (c10's `fp8e5m2_from_fp32_value`).
    public static func floatToF8E5M2(_ value: Float) -> UInt8 {
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        let magnitude = abs(value)
        if magnitude.isNaN { return sign | 0x7F }
        if magnitude >= 65536 { return sign | 0x7C }
        return sign | encodeSmallFloat(magnitude, exponentBits: 5, mantissaBits: 2, bias: 15)
    }

    /// Rounds a finite non-negative value onto the grid of a small float format (nearest,
    /// ties to even) and returns its exponent/mantissa bits. The caller handles overflow.
    private static func encodeSmallFloat(_ magnitude: Float, exponentBits: Int, mantissaBits: Int, bias: Int) -> UInt8 {
        if magnitude == 0 { return 0 }
        let minExponent = 1 - bias
        let exponent = max(Int(magnitude.exponent), minExponent)
        let quantum = Float(sign: .plus, exponent: exponent - mantissaBits, significand: 1)
        var steps = Int((magnitude / quantum).rounded(.toNearestOrEven))
        var biased = exponent + bias
        let implicitOne = 1 << mantissaBits
        if steps >= 2 * implicitOne { steps /= 2; biased += 1 }
        if steps < implicitOne {   // subnormal (only reachable at the minimum exponent)
            return UInt8(steps)
        }
        if biased <= 0 { biased = 1 }
        return UInt8(truncatingIfNeeded: (biased << mantissaBits) | (steps - implicitOne))
    }
}
