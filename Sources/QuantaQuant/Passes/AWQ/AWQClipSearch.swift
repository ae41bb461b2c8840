import COpenBLAS
import QuantaCore

/// AWQ's weight clipping search (AutoAWQ `_compute_best_clip`, `apply_clip`): for every (output
/// row, input group), try max |w| shrunk by (1 − i/grid) for i < maxShrink·grid, clamp the group to
/// ±that value, quantize, and keep the shrink whose partial outputs Σ_group x·w' over the sampled
/// tokens are closest (mean squared error over tokens) to the unclipped float ones. Ties keep the
/// smaller shrink (strict `<`, as the reference). The error is computed through each group's Gram
/// matrix (see `AWQGramLoss`): the same quantity at an eighth of the work for 512 samples.
public enum AWQClipSearch {
    public static let defaultGrid = 20
    public static let defaultMaxShrink: Float = 0.5
    /// AutoAWQ samples every ⌊n_tokens / 512⌋-th token of the calibration inputs.
    public static let defaultSampleTokens = 512

    /// Each task calls BLAS on its own group, so OpenBLAS must not spawn threads of its own
    /// (the engine sets the same; whichever runs first wins, idempotently).
    private static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// Best max |w| per (row, group), [rows × groups]. `samples`: [sampleCount × columns] inputs
    /// (already divided by the folded AWQ scales, as the reference divides its input features).
    public static func bestMaxValues(weights: UnsafePointer<Float>, rows: Int, columns: Int, groupSize: Int,
                                     samples: UnsafePointer<Float>, sampleCount n: Int,
                                     grid: Int = defaultGrid, maxShrink: Float = defaultMaxShrink) -> [Float] {
        _ = singleThreadedBLAS
        let groups = columns / groupSize
        let steps = max(1, Int(maxShrink * Float(grid)))
        var best = [Float](repeating: 0, count: rows * groups)
        let wp = UInt(bitPattern: weights), xp = UInt(bitPattern: samples)
        best.withUnsafeMutableBufferPointer { bestBuffer in
            let bp = UInt(bitPattern: bestBuffer.baseAddress)
            Parallel.forEach(groups) { g in
                guard let weights = UnsafePointer<Float>(bitPattern: wp), let samples = UnsafePointer<Float>(bitPattern: xp),
                      let best = UnsafeMutablePointer<Float>(bitPattern: bp) else { return }
                let x = UnsafeMutablePointer<Float>.allocate(capacity: n * groupSize)
                let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * groupSize)
                let delta = UnsafeMutablePointer<Float>.allocate(capacity: rows * groupSize)
                let product = UnsafeMutablePointer<Float>.allocate(capacity: rows * groupSize)
                let gram = UnsafeMutablePointer<Float>.allocate(capacity: groupSize * groupSize)
                let peak = UnsafeMutablePointer<Float>.allocate(capacity: rows)
                let minError = UnsafeMutablePointer<Float>.allocate(capacity: rows)
                let rowError = UnsafeMutablePointer<Float>.allocate(capacity: rows)
                defer {
                    x.deallocate(); w.deallocate(); delta.deallocate(); product.deallocate(); gram.deallocate()
                    peak.deallocate(); minError.deallocate(); rowError.deallocate()
                }
                for t in 0 ..< n { (x + t * groupSize).update(from: samples + t * columns + g * groupSize, count: groupSize) }
                for r in 0 ..< rows {
                    (w + r * groupSize).update(from: weights + r * columns + g * groupSize, count: groupSize)
                    var m: Float = 0
                    for i in 0 ..< groupSize { m = max(m, abs(w[r * groupSize + i])) }
                    peak[r] = m
                    best[r * groups + g] = m
                    minError[r] = 1e9
                }
                // The reference's error, mean_t (x_t·q_r − x_t·w_r)², is δ_r·(XᵀX)·δ_rᵀ / n with δ = q − w
                // (AWQGramLoss): the group's 64 × 64 Gram matrix once, then 64² per row and shrink
                // instead of n · 64.
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(groupSize), Int32(groupSize), Int32(n), 1,
                            x, Int32(groupSize), x, Int32(groupSize), 0, gram, Int32(groupSize))
                let inverseCount = 1 / Float(max(n, 1))
                for step in 0 ..< steps {
                    let shrink = 1 - Float(step) / Float(grid)
                    for r in 0 ..< rows {
                        let limit = peak[r] * shrink
                        let src = w + r * groupSize, dst = delta + r * groupSize
                        for i in 0 ..< groupSize { dst[i] = min(max(src[i], -limit), limit) }
                        AWQGroupQuantizer.fakeQuantizeGroup(dst, dst, count: groupSize)
                        for i in 0 ..< groupSize { dst[i] -= src[i] }
                    }
                    AWQGramLoss.rowLosses(delta, rows: rows, columns: groupSize, gram: gram, scratch: product, into: rowError)
                    for r in 0 ..< rows {
                        let error = rowError[r] * inverseCount
                        if error < minError[r] {
                            minError[r] = error
                            best[r * groups + g] = peak[r] * shrink
                        }
                    }
                }
            }
        }
        return best
    }

    /// Clamps each (row, group) of the weight to ±maxValues[row, group] in place (AutoAWQ `apply_clip`).
    public static func apply(_ maxValues: [Float], to weights: UnsafeMutablePointer<Float>, rows: Int, columns: Int, groupSize: Int) {
        let groups = columns / groupSize
        for r in 0 ..< rows {
            for g in 0 ..< groups {
                let limit = maxValues[r * groups + g]
                let p = weights + r * columns + g * groupSize
                for i in 0 ..< groupSize { p[i] = min(max(p[i], -limit), limit) }
            }
        }
    }
}
