import Foundation

/// GPTQ's uniform grid for one group of one output row (the reference `Quantizer.find_params`
/// with `perchannel=True`, `weight=True`, no MSE search):
///   xmin = min(0, min w), xmax = max(0, max w);
///   sym: xmax = max(|xmin|, xmax), xmin = −xmax when xmin < 0; zero = (maxq + 1) / 2;
///   an all-zero group gets [−1, 1];
///   scale = (xmax − xmin) / maxq, asym zero = round(−xmin / scale).
/// Two deliberate refinements, both so the stored checkpoint is exactly what the solve used:
///   - the scale is rounded to float16 (the layout's `scales` dtype) before any weight is
///     quantized, so codes and the error feedback see the stored scale;
///   - an asymmetric zero point is kept ≥ 1 (when it would be 0 the scale widens to
///     xmax / (maxq − 1)): the layout stores zero − 1 ("v1"), and a stored −1 is read
///     differently by field-wise and word-wise readers.
public struct GPTQGrid: Sendable, Equatable {
    public var scale: Float
    /// The integer zero point, 0...maxq (the true zero, not the stored zero − 1).
    public var zero: Int

    public init(scale: Float, zero: Int) {
        self.scale = scale
        self.zero = zero
    }

    /// The grid for `count` values at `values[0], values[stride], …`.
    @inline(__always)
    public static func fit(_ values: UnsafePointer<Float>, count: Int, stride: Int = 1, maxq: Int, sym: Bool,
                           float16: Bool = true) -> GPTQGrid {
        var low: Float = 0, high: Float = 0
        for i in 0 ..< count {
            let v = values[i * stride]
            low = min(low, v)
            high = max(high, v)
        }
        return fit(minimum: low, maximum: high, maxq: maxq, sym: sym, float16: float16)
    }

    /// The grid for a group with the given minimum and maximum. `float16: false` keeps the exact
    /// f32 scale (round-to-nearest codes with it, as fake quantization does, and stores it rounded).
    public static func fit(minimum: Float, maximum: Float, maxq: Int, sym: Bool, float16: Bool = true) -> GPTQGrid {
        func round(_ value: Float) -> Float { float16 ? float16Scale(value) : (value > 0 ? value : Float.leastNormalMagnitude) }
        var low = min(minimum, 0), high = max(maximum, 0)
        if sym {
            high = max(abs(low), high)
            if low < 0 { low = -high }
        }
        if sym ? high == 0 : (low == 0 && high == 0) {
            low = -1
            high = 1
        }
        let q = Float(maxq)
        var scale = round((high - low) / q)
        if sym { return GPTQGrid(scale: scale, zero: (maxq + 1) / 2) }
        var zero = Int(min(max((-low / scale).rounded(.toNearestOrEven), 0), q))
        if zero == 0 {
            // Keep zero ≥ 1 (see above): one step below 0, maxq − 1 steps up to xmax.
            scale = round(high / Float(maxq - 1))
            zero = 1
        }
        return GPTQGrid(scale: scale, zero: zero)
    }

    /// The grid with the least Σ|w − q|^norm among the min/max grid and its ranges shrunk by
    /// p = 1 − i/100 for i < 80 (the reference `Quantizer.find_params` with `mse`, grid 100,
    /// maxshrink 0.8). Costs 80 passes over the group.
    /// `importance` (optional, one non-negative weight per value) weighs each value's error, e.g. by its
    /// input's mean square activation (the Hessian diagonal), as llama.cpp's importance matrix does.
    public static func search(_ values: UnsafePointer<Float>, count: Int, stride: Int = 1, maxq: Int, sym: Bool,
                              norm: Double, float16: Bool = true, importance: UnsafePointer<Float>? = nil) -> GPTQGrid {
        var low: Float = 0, high: Float = 0
        for i in 0 ..< count {
            let v = values[i * stride]
            low = min(low, v)
            high = max(high, v)
        }
        var best = fit(minimum: low, maximum: high, maxq: maxq, sym: sym, float16: float16)
        var bestError = best.error(values, count: count, stride: stride, maxq: maxq, norm: norm, importance: importance)
        for i in 1 ..< 80 {
            let p = 1 - Float(i) / 100
            let candidate = fit(minimum: p * low, maximum: p * high, maxq: maxq, sym: sym, float16: float16)
            let error = candidate.error(values, count: count, stride: stride, maxq: maxq, norm: norm, importance: importance)
            if error < bestError {
                best = candidate
                bestError = error
            }
        }
        return best
    }

    /// Σ |w − q(w)|^norm over a group, each term times its importance when given.
    @inline(__always)
    func error(_ values: UnsafePointer<Float>, count: Int, stride: Int, maxq: Int, norm: Double,
               importance: UnsafePointer<Float>? = nil) -> Float {
        var total: Float = 0
        if let importance {
            let exponent = Float(norm)
            for i in 0 ..< count {
                let v = values[i * stride]
                let d = abs(v - value(code(v, maxq: maxq)))
                total += importance[i * stride] * (norm == 2 ? d * d : powf(d, exponent))
            }
        } else if norm == 2 {
            for i in 0 ..< count {
                let v = values[i * stride]
                let d = v - value(code(v, maxq: maxq))
                total += d * d
            }
        } else {
            let exponent = Float(norm)
            for i in 0 ..< count {
                let v = values[i * stride]
                total += powf(abs(v - value(code(v, maxq: maxq))), exponent)
            }
        }
        return total
    }

    /// `value` rounded to float16 and back, kept positive (a zero scale would divide by zero;
    /// the smallest float16 subnormal stands in, as GPTQModel's `_replace_zero_scale` does for
    /// exact zeros). Values beyond float16's range become infinity; callers check.
    @inline(__always)
    public static func float16Scale(_ value: Float) -> Float {
        let rounded = Float(Float16(value))
        return rounded > 0 ? rounded : Float(Float16.leastNonzeroMagnitude)
    }

    /// The code of `value`: clamp(round(value / scale) + zero, 0, maxq), rounding half to even as torch.round.
    @inline(__always)
    public func code(_ value: Float, maxq: Int) -> Int {
        let q = (value / scale).rounded(.toNearestOrEven) + Float(zero)
        return Int(min(max(q, 0), Float(maxq)))
    }

    /// The value a code stands for: scale · (code − zero).
    @inline(__always)
    public func value(_ code: Int) -> Float { scale * Float(code - zero) }
}
