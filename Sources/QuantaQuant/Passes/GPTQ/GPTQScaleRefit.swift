import COpenBLAS
import QuantaCore

/// A closing step after the GPTQ sweep: with every code fixed, re-solve each output row's group
/// scales for the least layer output error on the calibration set.
///
/// The sweep fixes a group's scale from the weights as they stand when the sweep reaches the
/// group, before the error feedback of that group's own columns and of the groups after it
/// has landed, so the scales it stores are not the best ones for the codes it ends up with.
/// Given the codes, a row's dequantized weights are linear in its scales,
/// ŵ = A·s with A[c, g] = (code[c] − zero[g]) when g_idx[c] = g and 0 otherwise, and GPTQ's own
/// objective (w − ŵ)ᵀ H (w − ŵ) (H the calibration Hessian, damped as in the solve) is a k×k
/// least-squares problem in the row's k scales: (AᵀHA) s = AᵀH w. A row keeps its old scales
/// unless the new ones, rounded to float16 as stored, are positive, finite and lower the
/// objective. The layout, the codes, the zero points and g_idx are unchanged; only `scales`
/// moves. Cost: one rows × columns × columns product per linear (GEMMs of one group at a time).
public enum GPTQScaleRefit {
    public struct Report: Sendable, Equatable {
        /// Rows considered and rows whose scales changed.
        public var rows: Int
        public var rowsChanged: Int
        /// Σ over rows of (w − ŵ)ᵀ (H + λI) (w − ŵ) before and after (the solve's units).
        public var errorBefore: Double
        public var errorAfter: Double

        /// The fraction by which the refit lowered the error; nil when there was none to lower.
        public var errorReduction: Double? { errorBefore > 0 ? 1 - errorAfter / errorBefore : nil }

        /// Several linears' reports added up; nil when there are none (the refit did not run).
        public static func total(_ reports: [Report]) -> Report? {
            guard !reports.isEmpty else { return nil }
            return Report(rows: reports.reduce(0) { $0 + $1.rows }, rowsChanged: reports.reduce(0) { $0 + $1.rowsChanged },
                          errorBefore: reports.reduce(0) { $0 + $1.errorBefore }, errorAfter: reports.reduce(0) { $0 + $1.errorAfter })
        }
    }

    /// Refits `linear`'s scales against the original `weights` ([rows × columns], row-major) and
    /// the natural-order Hessian `hessian` (columns², as `GPTQHessian.matrix()`) plus `damping` on
    /// its diagonal (the solve's λ, `GPTQInverseHessian.damping`). Returns the refitted linear's
    /// dequantized weights.
    public static func refit(_ linear: inout GPTQQuantizedLinear, weights: UnsafePointer<Float>, hessian: [Double],
                             damping lambda: Double) -> (dequantized: [Float], report: Report) {
        let n = linear.columns, rows = linear.rows, k = linear.groups
        guard hessian.count == n * n, n > 0, rows > 0, k > 0, linear.groupIndex.count == n else {
            return (linear.dequantized(), Report(rows: rows, rowsChanged: 0, errorBefore: 0, errorAfter: 0))
        }
        GPTQHessian.configureBLAS()
        let groupOf = linear.groupIndex.map(Int.init)
        var members = [[Int]](repeating: [], count: k)
        for c in 0 ..< n { members[groupOf[c]].append(c) }

        // Damped Hessian in f32 for the GEMMs.
        var h = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n { for j in 0 ..< n { h[i * n + j] = Float(hessian[i * n + j] + (i == j ? lambda : 0)) } }

        // d[r, c] = code − zero of c's group: the column of A for that group.
        var d = [Float](repeating: 0, count: rows * n)
        for r in 0 ..< rows {
            for c in 0 ..< n {
                d[r * n + c] = Float(Int(linear.codes[r * n + c]) - Int(linear.zeros[groupOf[c] * rows + r]))
            }
        }

        // gram[r][g][h] = a_gᵀ H a_h, rhs[r][g] = a_gᵀ H w, constant[r] = wᵀ H w (for the report).
        var gram = [Double](repeating: 0, count: rows * k * k)
        var rhs = [Double](repeating: 0, count: rows * k)
        var constant = [Double](repeating: 0, count: rows)
        h.withUnsafeBufferPointer { hb in
        d.withUnsafeBufferPointer { db in
        gram.withUnsafeMutableBufferPointer { gramOut in
        rhs.withUnsafeMutableBufferPointer { rhsOut in
            let hp = hb.baseAddress!, dp = db.baseAddress!
            // One task per group: P = D[:, g] · H[g, :] (rows × n), then per row the dot products of
            // P's row with d (split by the group of each column) and with w. Tasks write disjoint
            // (r, g, ·) entries.
            Parallel.forEach(k) { g in
                let cols = members[g], width = cols.count
                guard width > 0 else { return }
                var dg = [Float](repeating: 0, count: rows * width)
                var hg = [Float](repeating: 0, count: width * n)
                var p = [Float](repeating: 0, count: rows * n)
                for r in 0 ..< rows { for (t, c) in cols.enumerated() { dg[r * width + t] = dp[r * n + c] } }
                for (t, c) in cols.enumerated() { for j in 0 ..< n { hg[t * n + j] = hp[c * n + j] } }
                dg.withUnsafeBufferPointer { dgb in
                hg.withUnsafeBufferPointer { hgb in
                p.withUnsafeMutableBufferPointer { pb in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(n), Int32(width),
                                1, dgb.baseAddress!, Int32(width), hgb.baseAddress!, Int32(n), 0, pb.baseAddress!, Int32(n))
                    let pp = pb.baseAddress!
                    var sums = [Double](repeating: 0, count: k)
                    for r in 0 ..< rows {
                        for t in 0 ..< k { sums[t] = 0 }
                        var towardW = 0.0
                        let prow = pp + r * n, drow = dp + r * n, wrow = weights + r * n
                        for j in 0 ..< n {
                            let v = Double(prow[j])
                            sums[groupOf[j]] += v * Double(drow[j])
                            towardW += v * Double(wrow[j])
                        }
                        for t in 0 ..< k { gramOut[(r * k + g) * k + t] = sums[t] }
                        rhsOut[r * k + g] = towardW
                    }
                }
                }
                }
            }
        }
        }
        }
        }
        // wᵀ H w per row (the objective's constant, for the report's absolute figures): W·H in row
        // blocks (one sgemm each), then each row's dot product with w.
        let rowBlock = 64
        h.withUnsafeBufferPointer { hb in
            constant.withUnsafeMutableBufferPointer { out in
                Parallel.forEach((rows + rowBlock - 1) / rowBlock) { block in
                    let r0 = block * rowBlock, m = min(rowBlock, rows - r0)
                    var product = [Float](repeating: 0, count: m * n)
                    product.withUnsafeMutableBufferPointer { pb in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(n), 1,
                                    weights + r0 * n, Int32(n), hb.baseAddress!, Int32(n), 0, pb.baseAddress!, Int32(n))
                        for r in 0 ..< m {
                            var total = 0.0
                            let w = weights + (r0 + r) * n, wh = pb.baseAddress! + r * n
                            for j in 0 ..< n { total += Double(w[j]) * Double(wh[j]) }
                            out[r0 + r] = total
                        }
                    }
                }
            }
        }

        var changed = 0, before = 0.0, after = 0.0
        var system = [Double](repeating: 0, count: k * k)
        var solution = [Double](repeating: 0, count: k)
        var old = [Double](repeating: 0, count: k), candidate = [Double](repeating: 0, count: k)
        for r in 0 ..< rows {
            for a in 0 ..< k { old[a] = Double(linear.scales[a * rows + r]) }
            let g0 = r * k * k, b0 = r * k
            func objective(_ s: [Double]) -> Double {
                var value = constant[r]
                for a in 0 ..< k {
                    var row = 0.0
                    for b in 0 ..< k { row += gram[g0 + a * k + b] * s[b] }
                    value += s[a] * row - 2 * rhs[b0 + a] * s[a]
                }
                return value
            }
            let current = objective(old)
            before += current
            for a in 0 ..< k {
                for b in 0 ..< k { system[a * k + b] = gram[g0 + a * k + b] }
                solution[a] = rhs[b0 + a]
            }
            // Groups whose codes all equal the zero point do not depend on their scale: pinned.
            for a in 0 ..< k where !(gram[g0 + a * k + a] > 0) {
                for b in 0 ..< k { system[a * k + b] = 0; system[b * k + a] = 0 }
                system[a * k + a] = 1
                solution[a] = old[a]
            }
            guard solvePositiveDefinite(&system, &solution, k) else { after += current; continue }
            var valid = true
            for a in 0 ..< k {
                let stored = Double(Float(Float16(Float(solution[a]))))
                if !(stored > 0) || !stored.isFinite { valid = false; break }
                candidate[a] = stored
            }
            let refitted = valid ? objective(candidate) : .infinity
            if refitted < current {
                for a in 0 ..< k { linear.scales[a * rows + r] = Float(candidate[a]) }
                changed += 1
                after += refitted
            } else {
                after += current
            }
        }
        return (linear.dequantized(), Report(rows: rows, rowsChanged: changed, errorBefore: before, errorAfter: after))
    }

    /// Solves the symmetric positive definite k×k system in place (LAPACK dposv: Cholesky, double);
    /// false when it is not positive definite. Symmetric, so row- and column-major agree.
    static func solvePositiveDefinite(_ a: inout [Double], _ b: inout [Double], _ k: Int) -> Bool {
        var size = Int32(k), lda = Int32(k), ldb = Int32(k), one: Int32 = 1, info: Int32 = 0
        var upper = CChar(UInt8(ascii: "U"))
        a.withUnsafeMutableBufferPointer { ab in
            b.withUnsafeMutableBufferPointer { bb in
                dposv_(&upper, &size, &one, ab.baseAddress!, &lda, bb.baseAddress!, &ldb, &info)
            }
        }
        return info == 0 && b.allSatisfy(\.isFinite)
    }
}
