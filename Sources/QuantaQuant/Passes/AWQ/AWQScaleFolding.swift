/// Folding AWQ's per-input-channel scales s into the model so the float function is unchanged
/// (AutoAWQ awq/quantize/scale.py `scale_ln_fcs`, `scale_fc_fc`): the op that produces the group's
/// input divides its output channel c by s[c], and every linear of the group multiplies its input
/// column c by s[c]. (x / s) · (W · diag(s))ᵀ = x · Wᵀ.
public enum AWQScaleFolding {
    /// RMSNorm weight (and bias, if any) → group: norm /= s; each [rows × s.count] weight's columns *= s.
    public static func foldIntoNorm(_ norm: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>? = nil,
                                    linears: [(weights: UnsafeMutablePointer<Float>, rows: Int)], scales s: [Float]) {
        for c in s.indices { norm[c] /= s[c] }
        if let bias { for c in s.indices { bias[c] /= s[c] } }
        for (weights, rows) in linears { multiplyColumns(weights, rows: rows, by: s) }
    }

    /// Linear → linear (up → down, v → o): the previous linear's output rows (and bias) /= s, the
    /// next linear's [rows × s.count] columns *= s. `previousColumns` is the previous weight's width.
    public static func foldIntoLinear(previous: UnsafeMutablePointer<Float>, previousColumns: Int,
                                      previousBias: UnsafeMutablePointer<Float>? = nil,
                                      next: UnsafeMutablePointer<Float>, nextRows: Int, scales s: [Float]) {
        for r in s.indices {
            let row = previous + r * previousColumns
            for c in 0 ..< previousColumns { row[c] /= s[r] }
            previousBias?[r] /= s[r]
        }
        multiplyColumns(next, rows: nextRows, by: s)
    }

    static func multiplyColumns(_ matrix: UnsafeMutablePointer<Float>, rows: Int, by s: [Float]) {
        let columns = s.count
        for r in 0 ..< rows {
            let row = matrix + r * columns
            for c in 0 ..< columns { row[c] *= s[c] }
        }
    }
}
