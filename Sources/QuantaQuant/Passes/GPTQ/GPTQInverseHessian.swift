import COpenBLAS
import QuantaCore

/// Everything the GPTQ sweep needs from a Hessian, computed once per linear group (q/k/v share
/// their input and so their Hessian, as do gate/up):
///   - dead inputs (zero diagonal: never active in calibration) get H[i,i] = 1, and the solve
///     zeroes their weight columns;
///   - the sweep order (act-order: decreasing diagonal; group-aware: whole groups by their largest
///     diagonal, columns inside a group by decreasing diagonal);
///   - the upper Cholesky factor U of (H + λI)⁻¹ in that order (H⁻¹ = UᵀU), λ = damp × mean
///     diagonal. When a Cholesky step fails the damp is doubled (up to 1) and the damp that
///     worked is reported.
/// The factorizations run in double precision through LAPACK; U is handed to the sweep in f32.
public struct GPTQInverseHessian: Sendable {
    public let columns: Int
    /// Columns with a zero Hessian diagonal (natural order).
    public let dead: [Bool]
    /// Sweep position → original column (identity in natural order).
    public let permutation: [Int]
    /// The Hessian's diagonal in natural order (dead columns 1), before damping: each input's
    /// importance (2 × its mean square activation).
    public let diagonal: [Double]
    /// Upper Cholesky factor of the damped inverse, row-major [columns × columns], permuted order.
    public let factor: [Float]
    /// The damp (fraction of the mean diagonal) that made the Cholesky succeed.
    public let dampPercent: Double
    /// λ, the absolute amount added to the diagonal: `dampPercent` × the mean diagonal.
    public let damping: Double
    /// True when `dampPercent` is larger than the one requested.
    public var dampRaised: Bool { dampPercent > requestedDamp }
    public let requestedDamp: Double

    public var deadCount: Int { dead.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// `hessian`: full symmetric row-major [columns × columns] (e.g. `GPTQHessian.matrix()`).
    public init(hessian: [Double], columns: Int, actOrder: Bool, dampPercent: Double, name: String = "linear") throws {
        try self.init(hessian: hessian, columns: columns, order: actOrder ? .decreasingDiagonal : .natural,
                      dampPercent: dampPercent, name: name)
    }

    /// `hessian` is consumed: pass it with `consume` (or as a temporary) and the factorization works
    /// in its storage instead of copying columns² doubles.
    public init(hessian: consuming [Double], columns: Int, order: GPTQColumnOrder, dampPercent: Double, name: String = "linear") throws {
        guard hessian.count == columns * columns, columns > 0 else {
            throw GPTQError.shapeMismatch("GPTQ: a Hessian of \(hessian.count) values does not fit \(columns) columns")
        }
        guard hessian.allSatisfy(\.isFinite) else { throw GPTQError.nonFinite(tensor: name, what: "a non-finite calibration Hessian (NaN or infinite activations)") }
        let n = columns
        var h = consume hessian
        var dead = [Bool](repeating: false, count: n)
        for i in 0 ..< n where h[i * n + i] == 0 {
            dead[i] = true
            h[i * n + i] = 1
        }
        let diagonal = (0 ..< n).map { h[$0 * n + $0] }
        let permutation = order.permutation(diagonal: diagonal)
        if order != .natural { GPTQInverseHessian.permute(&h, n: n, permutation: permutation) }
        let mean = (0 ..< n).reduce(0.0) { $0 + h[$1 * n + $1] } / Double(n)
        var damp = dampPercent
        while true {
            if let factor = GPTQInverseHessian.inverseFactor(&h, n: n, lambda: damp * mean) {
                self.factor = factor
                break
            }
            guard damp < 1 else { throw GPTQError.choleskyFailed(tensor: name, lastDamp: damp) }
            damp = min(1, damp * 2)
        }
        self.columns = n
        self.dead = dead
        self.permutation = permutation
        self.diagonal = diagonal
        self.dampPercent = damp
        self.damping = damp * mean
        self.requestedDamp = dampPercent
    }

    /// U with UᵀU = (H + λI)⁻¹, or nil when a factorization fails. LAPACK is column-major: a
    /// row-major upper triangle is its lower triangle, so every call uses uplo = "L".
    /// Works in `h`'s own storage (a copy would be 8 B × columns² more: 970 MB for a 7B down_proj):
    /// LAPACK reads and writes only the row-major upper triangle, so the strictly lower one still holds
    /// H; on failure the upper triangle is restored from it (and the diagonal from a saved copy), so
    /// the caller can retry with a larger λ on the same H.
    static func inverseFactor(_ h: inout [Double], n: Int, lambda: Double) -> [Float]? {
        let diagonal = (0 ..< n).map { h[$0 * n + $0] }
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        var lower = CChar(UInt8(ascii: "L"))
        var factor: [Float]?
        // The engine keeps OpenBLAS single-threaded (it splits work across cores itself); these three
        // LAPACK calls are the whole job at this point (57 s of one core for an 11008² down_proj), so
        // they get every core, and BLAS goes back to one thread after.
        openblas_set_num_threads(Int32(Parallel.cores))
        defer { openblas_set_num_threads(1) }
        h.withUnsafeMutableBufferPointer { buffer in
            guard let a = buffer.baseAddress else { return }
            for i in 0 ..< n { a[i * n + i] += lambda }
            dpotrf_(&lower, &size, a, &lda, &info)              // H = L·Lᵀ
            if info == 0 { dpotri_(&lower, &size, a, &lda, &info) }   // H⁻¹ (same triangle)
            if info == 0 { dpotrf_(&lower, &size, a, &lda, &info) }   // H⁻¹ = L'·L'ᵀ; row-major: Uᵀ·U
            if info == 0 { factor = upperFactor(a, n: n) }
            if factor == nil {
                for i in 0 ..< n {
                    a[i * n + i] = diagonal[i]
                    for j in i + 1 ..< n { a[i * n + j] = a[j * n + i] }
                }
            }
        }
        return factor
    }

    /// h ← P·h·Pᵀ, i.e. h[i][j] = old h[permutation[i]][permutation[j]], in place: rows are moved
    /// along the permutation's cycles, then each row's columns gathered through one row of scratch
    /// (a permuted copy would be another 8 B × columns²).
    static func permute(_ h: inout [Double], n: Int, permutation: [Int]) {
        var row = [Double](repeating: 0, count: n)
        var placed = [Bool](repeating: false, count: n)
        h.withUnsafeMutableBufferPointer { buffer in
            guard let a = buffer.baseAddress else { return }
            row.withUnsafeMutableBufferPointer { scratch in
                guard let t = scratch.baseAddress else { return }
                for start in 0 ..< n where !placed[start] {
                    // Row `start` gets row permutation[start], which gets row permutation[that], … .
                    t.update(from: a + start * n, count: n)
                    var i = start
                    while true {
                        placed[i] = true
                        let source = permutation[i]
                        if source == start { (a + i * n).update(from: t, count: n); break }
                        (a + i * n).update(from: a + source * n, count: n)
                        i = source
                    }
                }
                for i in 0 ..< n {
                    let r = a + i * n
                    for j in 0 ..< n { t[j] = r[permutation[j]] }
                    r.update(from: t, count: n)
                }
            }
        }
    }

    /// The row-major upper triangle of a factored matrix in f32, or nil when an entry is non-finite
    /// or a diagonal entry is not positive.
    private static func upperFactor(_ a: UnsafePointer<Double>, n: Int) -> [Float]? {
        var factor = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n {
            for j in i ..< n {
                let v = a[i * n + j]
                guard v.isFinite else { return nil }
                factor[i * n + j] = Float(v)
            }
            guard a[i * n + i] > 0 else { return nil }
        }
        return factor
    }
}
