import CQuantaKernels
import QuantaCore

/// Activations converted as ggml's CPU backend converts a mul_mat's src1 to the weight type's
/// `vec_dot_type` before the dot products (ggml-cpu.c `ggml_compute_forward_mul_mat`: `from_float`
/// of the vec_dot_type on every row).
enum ActivationConversion {
    /// Rows of `x` (row stride `stride`) as the dot product sees them, written contiguously
    /// ([rows × k]) to `y`: rounded to f16 / bf16, or quantized to Q8_0 / Q8_1 / Q8_K blocks and
    /// expanded back to f32 (q · d with the scale the dot product reads), which is what ggml's
    /// integer dot products compute up to the order of the float sums.
    static func fakeQuantize(_ x: UnsafePointer<Float>, rows: Int, k: Int, stride: Int, format: ActivationFormat,
                             into y: UnsafeMutablePointer<Float>, scratch: ProductScratch) {
        switch format {
        case .f32:
            for r in 0 ..< rows { (y + r * k).update(from: x + r * stride, count: k) }
        case .f16:
            Parallel.forRanges(rows, minimumPerTask: 8) { range in
                for r in range { quanta_round_f16(x + r * stride, y + r * k, k) }
            }
        case .bf16:
            Parallel.forRanges(rows, minimumPerTask: 8) { range in
                for r in range { quanta_round_bf16(x + r * stride, y + r * k, k) }
            }
        case .q8_0, .q8_1, .q8_K:
            let bs = 32, blocks = k / bs
            let (q, d, sum) = scratch.quantized(count: rows * k, blocks: rows * blocks)
            quantize(x, rows: rows, k: k, stride: stride, format: format, blockSize: bs, q: q, d: d, sum: sum)
            Parallel.forRanges(rows, minimumPerTask: 8) { range in
                for r in range {
                    for b in 0 ..< blocks {
                        let scale = d[r * blocks + b]
                        for i in 0 ..< bs { y[r * k + b * bs + i] = Float(q[r * k + b * bs + i]) * scale }
                    }
                }
            }
        }
    }

    /// The int8 form of the activations for the blocked int8 GEMM (`quanta_quantize_acts`).
    static func quantize(_ x: UnsafePointer<Float>, rows: Int, k: Int, stride: Int, format: ActivationFormat, blockSize: Int,
                         q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Int32>) {
        let kind: quanta_act_kind
        switch format {
        case .q8_1: kind = QUANTA_ACT_Q8_1
        case .q8_K: kind = QUANTA_ACT_Q8_K
        default: kind = QUANTA_ACT_Q8_0
        }
        let blocks = k / blockSize
        Parallel.forRanges(rows, minimumPerTask: 8) { range in
            quanta_quantize_acts(x + range.lowerBound * stride, range.count, k, stride, kind, Int32(blockSize),
                                 q + range.lowerBound * k, d + range.lowerBound * blocks, sum + range.lowerBound * blocks)
        }
    }
}
