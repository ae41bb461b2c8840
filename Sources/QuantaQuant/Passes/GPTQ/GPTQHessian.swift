import COpenBLAS
import QuantaCore

/// Accumulates a linear's input second moment XᵀX over calibration tokens (GPTQ's
/// H = 2·XᵀX / n, `add_batch` in the reference). Rows are staged into a block of up to
/// `stagingRows` tokens, then added with BLAS on the upper triangle only: ssyrk on the diagonal
/// tiles, sgemm on the tiles above it, the tiles spread across cores. Memory: columns² floats
/// plus the staging block; nothing is allocated per call. `matrix()` spends the accumulator: the
/// staging block goes before the double matrix is allocated and the f32 sum right after it is
/// filled, so a 7B down_proj (11008 columns) peaks at 1.45 GB there instead of 2 GB, and nothing of
/// the accumulator outlives it.
public final class GPTQHessian: @unchecked Sendable {
    public let columns: Int
    /// Tokens added so far.
    public private(set) var count = 0
    /// Σ xᵀx, row-major, upper triangle valid (the lower one is not maintained).
    private var sum: UnsafeMutablePointer<Float>?
    private var staging: UnsafeMutablePointer<Float>?
    private let stagingRows: Int
    private var staged = 0

    /// Side of the square tiles the update is split into (work units for the cores).
    static let tile = 128

    public init(columns: Int, stagingRows: Int = 2048) {
        GPTQHessian.configureBLAS()
        self.columns = columns
        self.stagingRows = max(1, stagingRows)
        let sum = UnsafeMutablePointer<Float>.allocate(capacity: max(1, columns * columns))
        sum.initialize(repeating: 0, count: max(1, columns * columns))
        self.sum = sum
        staging = .allocate(capacity: max(1, self.stagingRows * columns))
    }

    deinit { release() }

    private func release() {
        staging?.deallocate()
        staging = nil
        sum?.deallocate()
        sum = nil
    }

    /// OpenBLAS single-threaded: the tiles are split across cores here (as the engine's GEMMs).
    private static let singleThreaded: Void = { openblas_set_num_threads(1) }()
    static func configureBLAS() { _ = singleThreaded }

    /// Adds `rows` tokens whose `columns` inputs start `rowStride` floats apart.
    public func add(_ values: UnsafePointer<Float>, rows: Int, rowStride: Int) {
        guard let staging else { preconditionFailure("GPTQHessian.add after matrix() spent the accumulator") }
        var done = 0
        while done < rows {
            let take = min(rows - done, stagingRows - staged)
            for r in 0 ..< take {
                (staging + (staged + r) * columns).update(from: values + (done + r) * rowStride, count: columns)
            }
            staged += take
            done += take
            if staged == stagingRows { flush() }
        }
        count += rows
    }

    /// Adds the staged rows to the sum.
    private func flush() {
        guard staged > 0, let staging, let sum else { return }
        let n = columns, k = staged, tile = GPTQHessian.tile
        let tiles = (n + tile - 1) / tile
        var work: [(Int, Int)] = []
        for i in 0 ..< tiles { for j in i ..< tiles { work.append((i, j)) } }
        let x = UnsafePointer(staging), c = sum
        // Larger (off-diagonal) tiles first for balance.
        work.sort { ($0.0 == $0.1 ? 0 : 1, $0.1 - $0.0) > ($1.0 == $1.1 ? 0 : 1, $1.1 - $1.0) }
        Parallel.forEach(work.count) { index in
            let (bi, bj) = work[index]
            let r0 = bi * tile, c0 = bj * tile
            let rn = min(tile, n - r0), cn = min(tile, n - c0)
            if bi == bj {
                // C[r0.., r0..] += X[:, r0..]ᵀ X[:, r0..] (upper)
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(rn), Int32(k), 1, x + r0, Int32(n),
                            1, c + r0 * n + r0, Int32(n))
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rn), Int32(cn), Int32(k), 1, x + r0, Int32(n),
                            x + c0, Int32(n), 1, c + r0 * n + c0, Int32(n))
            }
        }
        staged = 0
    }

    /// H = 2·XᵀX / n as a full symmetric matrix in double precision (row-major, columns²).
    /// Spends the accumulator (see the type's note); a second call is a programmer error.
    public func matrix() -> [Double] {
        flush()
        guard let sum else { preconditionFailure("GPTQHessian.matrix() called twice") }
        staging?.deallocate()
        staging = nil
        let n = columns
        var h = [Double](repeating: 0, count: n * n)
        let factor = count > 0 ? 2 / Double(count) : 0
        h.withUnsafeMutableBufferPointer { out in
            for i in 0 ..< n {
                for j in i ..< n {
                    let v = Double(sum[i * n + j]) * factor
                    out[i * n + j] = v
                    out[j * n + i] = v
                }
            }
        }
        release()
        return h
    }
}
