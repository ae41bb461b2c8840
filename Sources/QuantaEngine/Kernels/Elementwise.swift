import CQuantaKernels
import Foundation

/// Row-wise kernels of the decoder: RMSNorm, SwiGLU, softmax. Written over raw pointers with
/// SIMD accumulators; callers parallelize over rows.
public enum Elementwise {
    /// out[i] = x[i] / sqrt(mean(x²) + ε) · weight[i] — Llama's RMSNorm (sum in f32 as transformers
    /// does after `.to(float32)`; 16-lane partial sums).
    @inline(__always)
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               count: Int, epsilon: Float) {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * v
            i += 16
        }
        var sum = acc.sum()
        while i < count { sum += x[i] * x[i]; i += 1 }
        let scale = 1 / (sum / Float(count) + epsilon).squareRoot()
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
