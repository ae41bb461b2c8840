import QuantaCore

/// bitsandbytes LLM.int8 row-wise absmax quantization (`int8_vectorwise_quant`,
/// backends/default/ops.py) and its inverse (`int8_vectorwise_dequant`, _ops.py), bit for bit.
public enum BnbInt8Codec {
    /// `int8_vectorwise_dequant` multiplies by this f32 constant (1/127 rounded), not divides by 127.
    public static let inverse127 = Float(7.874015718698502e-3)

    /// Quantizes an [rows, cols] matrix row by row: `SCB = max|x|` (f32) and
    /// `round_half_even(x * ((1 / SCB) * 127))`. An all-zero row gives 0 · ∞ = NaN, which torch's cast to
    /// int8 turns into 0; so do we. f16/bf16 inputs are exactly converted to f32 first (torch promotes
    /// `A * f32` to f32).
    public static func quantizeRows(_ input: UnsafeBufferPointer<Float>, rows: Int, columns: Int,
                                    weights: UnsafeMutableBufferPointer<Int8>, scales: UnsafeMutableBufferPointer<Float>) throws {
        guard rows >= 0, columns >= 0, input.count == rows * columns, weights.count == input.count, scales.count == rows else {
            throw BnbCodecError.sizeMismatch("int8 quantize of \(rows)×\(columns): input \(input.count), weights \(weights.count), scales \(scales.count)")
        }
        guard let src = input.baseAddress, let dst = weights.baseAddress, let scb = scales.baseAddress else { return }
        Parallel.forRanges(rows, minimumPerTask: 16) { range in
            for r in range {
                let row = src + r * columns, out = dst + r * columns
                var peak: Float = 0
                for c in 0 ..< columns { peak = max(peak, abs(row[c])) }
                scb[r] = peak
                // `127.0 / row_stats` is torch's `__rtruediv__`: reciprocal first, then × 127 (two roundings).
                let scale = (1 / peak) * 127
                for c in 0 ..< columns { out[c] = roundToInt8(row[c] * scale) }
            }
        }
    }

    /// torch.round (half to even) then `.to(torch.int8)`; NaN becomes 0 as on x86.
    @inline(__always)
    public static func roundToInt8(_ value: Float) -> Int8 {
        guard !value.isNaN else { return 0 }
        let rounded = value.rounded(.toNearestOrEven)
        return Int8(max(-128, min(127, rounded)))
    }

    /// `CB * SCB * (1/127)` in f32, in that order.
    public static func dequantizeRows(weights: UnsafeBufferPointer<Int8>, scales: UnsafeBufferPointer<Float>,
                                      rows: Int, columns: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard rows >= 0, columns >= 0, weights.count == rows * columns, output.count == weights.count, scales.count == rows else {
            throw BnbCodecError.sizeMismatch("int8 dequantize of \(rows)×\(columns): weights \(weights.count), scales \(scales.count)")
        }
        guard let src = weights.baseAddress, let scb = scales.baseAddress, let dst = output.baseAddress else { return }
        Parallel.forRanges(rows, minimumPerTask: 16) { range in
            for r in range {
                let scale = scb[r]
                for c in 0 ..< columns { dst[r * columns + c] = Float(src[r * columns + c]) * scale * inverse127 }
            }
        }
    }
}
