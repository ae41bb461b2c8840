import CQuantaKernels
import Foundation

/// Row-wise kernels of the decoder: RMSNorm, SwiGLU, softmax. Written over raw pointers with
/// SIMD accumulators; callers parallelize over rows.
public enum Elementwise {
    /// out[i] = x[i] / sqrt(mean(x²) + ε) · weight[i] — Llama's RMSNorm. The sum of squares is in f32
    /// (16 lanes) as transformers sums after `.to(float32)`, or with `doubleSum` in double as ggml's
    /// `ggml_compute_forward_rms_norm_f32` accumulates it (ggml numerics); the mean and scale in f32.
    @inline(__always)
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               count: Int, epsilon: Float, doubleSum: Bool = false) {
        var i = 0
        let mean: Float
        if doubleSum {
            var sum = 0.0
            while i + 16 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                let d0 = SIMD8<Double>(v.lowHalf) * SIMD8<Double>(v.lowHalf), d1 = SIMD8<Double>(v.highHalf) * SIMD8<Double>(v.highHalf)
                sum += (d0 + d1).sum()
                i += 16
            }
            while i < count { sum += Double(x[i]) * Double(x[i]); i += 1 }
            mean = Float(sum / Double(count))
        } else {
            var acc = SIMD16<Float>()
            while i + 16 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                acc += v * v
                i += 16
            }
            var sum = acc.sum()
            while i < count { sum += x[i] * x[i]; i += 1 }
            mean = sum / Float(count)
        }
        let scale = 1 / (mean + epsilon).squareRoot()
        for j in 0 ..< count { out[j] = weight[j] * (x[j] * scale) }
    }

    /// gate[i] = silu(gate[i]) · up[i], in place over `count` elements (C kernel, vectorized).
    @inline(__always)
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        quanta_swiglu(gate, up, count)
    }

    /// In-place softmax of `count` values; the row sums to 1 (C kernel, vectorized).
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        quanta_softmax(x, count)
    }

    /// log Σ exp(x), stable (max subtracted), partial f32 sums flushed to f64 as llama.cpp sums in double.
    @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Double {
        quanta_log_sum_exp(x, count)
    }
}
