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

    /// gate[i] = silu(gate[i]) · up[i], in place over `count` elements.
    @inline(__always)
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0 ..< count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// In-place softmax of `count` values; returns nothing, the row sums to 1.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for i in 0 ..< count { maximum = max(maximum, x[i]) }
        var sum: Float = 0
        for i in 0 ..< count {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0 ..< count { x[i] *= inverse }
    }

    /// log Σ exp(x) computed stably in f64 (used for log-probabilities of logits rows).
    @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var maximum = -Float.infinity
        for i in 0 ..< count { maximum = max(maximum, x[i]) }
        var sum = 0.0
        for i in 0 ..< count { sum += Double(expf(x[i] - maximum)) }
        return Double(maximum) + log(sum)
    }
}
