import COpenBLAS
import QuantaCore

/// AWQ's output-error losses through the inputs' Gram matrix instead of through the outputs.
///
/// For a linear with inputs X [n × c] and a candidate weight W' = W + Δ [r × c], the squared error
/// the reference measures, Σ_t Σ_r (x_t·w'_r − x_t·w_r)², equals Σ_r Δ_r (XᵀX) Δ_rᵀ exactly in real
/// arithmetic. With the Gram matrix H = XᵀX made once, each candidate costs r·c² multiply-adds
/// instead of n·c·r — and it measures the difference directly, where the output form subtracts two
/// nearly equal products. AutoAWQ's grid searches score dozens of candidates on the same inputs, so
/// the Gram form turns each layer's per-candidate GEMMs over the token sample into one product with
/// the weight's own width.
public enum AWQGramLoss {
    /// Each task calls BLAS on its own block; OpenBLAS must not spawn threads of its own.
    private static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// H = XᵀX [c × c] for X [n × c] row-major, row blocks of H split across cores.
    public static func gram(_ x: UnsafePointer<Float>, rows n: Int, columns c: Int, into h: UnsafeMutablePointer<Float>) {
        _ = singleThreadedBLAS
        guard c > 0 else { return }
        guard n > 0 else { h.update(repeating: 0, count: c * c); return }
        let xp = UInt(bitPattern: x), hp = UInt(bitPattern: h)
        Parallel.forRanges(c, minimumPerTask: 32) { range in
            guard let x = UnsafePointer<Float>(bitPattern: xp), let h = UnsafeMutablePointer<Float>(bitPattern: hp) else { return }
            // H[range, :] = X[:, range]ᵀ · X
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(range.count), Int32(c), Int32(n), 1,
                        x + range.lowerBound, Int32(c), x, Int32(c), 0, h + range.lowerBound * c, Int32(c))
        }
    }

    /// Σ_r Δ_r H Δ_rᵀ for Δ [rows × c] and a symmetric H [c × c], accumulated in double; row blocks
    /// split across cores, each through one BLAS product into `scratch` ([rows × c]).
    public static func quadraticLoss(_ delta: UnsafePointer<Float>, rows: Int, columns c: Int, gram h: UnsafePointer<Float>,
                                     scratch: UnsafeMutablePointer<Float>) -> Double {
        _ = singleThreadedBLAS
        guard rows > 0, c > 0 else { return 0 }
        let tasks = max(1, min(Parallel.cores, rows / 16))
        let size = (rows + tasks - 1) / tasks
        var partial = [Double](repeating: 0, count: tasks)
        let dp = UInt(bitPattern: delta), hp = UInt(bitPattern: h), sp = UInt(bitPattern: scratch)
        partial.withUnsafeMutableBufferPointer { out in
            let op = UInt(bitPattern: out.baseAddress)
            Parallel.forEach(tasks) { task in
                let start = task * size, count = min(size, rows - start)
                guard count > 0, let delta = UnsafePointer<Float>(bitPattern: dp), let h = UnsafePointer<Float>(bitPattern: hp),
                      let scratch = UnsafeMutablePointer<Float>(bitPattern: sp), let out = UnsafeMutablePointer<Double>(bitPattern: op) else { return }
                let losses = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { losses.deallocate() }
                rowLosses(delta + start * c, rows: count, columns: c, gram: h, scratch: scratch + start * c, into: losses)
                var sum = 0.0
                for r in 0 ..< count { sum += Double(losses[r]) }
                out[task] = sum
            }
        }
        return partial.reduce(0, +)
    }

    /// losses[r] = Δ_r H Δ_rᵀ for each of `rows` rows, through one BLAS product into `scratch`
    /// ([rows × c]). Single-threaded: callers split rows (`quadraticLoss`) or groups (the clip search).
    public static func rowLosses(_ delta: UnsafePointer<Float>, rows: Int, columns c: Int, gram h: UnsafePointer<Float>,
                                 scratch: UnsafeMutablePointer<Float>, into losses: UnsafeMutablePointer<Float>) {
        _ = singleThreadedBLAS
        guard rows > 0, c > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(c), Int32(c), 1,
                    delta, Int32(c), h, Int32(c), 0, scratch, Int32(c))
        for r in 0 ..< rows {
            var acc: Float = 0
            let dr = delta + r * c, er = scratch + r * c
            for i in 0 ..< c { acc += dr[i] * er[i] }
            losses[r] = acc
        }
    }
}
