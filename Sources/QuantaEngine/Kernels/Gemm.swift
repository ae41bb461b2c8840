import COpenBLAS
import Dispatch

/// Matrix products through OpenBLAS. We keep OpenBLAS single-threaded and split work across
/// cores ourselves, so attention heads and GEMM column blocks share one thread pool and never
/// oversubscribe the machine.
public enum Gemm {
    /// Cores used by the engine's parallel loops.
    public static let cores = max(1, ProcessInfoCores.count)

    /// Static lets initialize once, thread-safely.
    private static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// Call before the first product (idempotent, thread-safe).
    public static func configure() { _ = singleThreadedBLAS }

    /// C[m×n] = A[m×k] · B[n×k]ᵀ (+ C when `accumulate`). Row-major; B is a weight stored
    /// [out, in] as in Hugging Face. Columns of C are split across cores.
    public static func multiplyTransposed(_ a: UnsafePointer<Float>, rows m: Int, inner k: Int,
                                          _ b: UnsafePointer<Float>, columns n: Int,
                                          into c: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        guard m > 0, n > 0, k > 0 else { return }
        let beta: Float = accumulate ? 1 : 0
        let parts = n >= 256 && m * n * k >= 1 << 20 ? cores : 1
        if parts == 1 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), beta, c, Int32(n))
            return
        }
        // Split n into `parts` column blocks, multiples of 16 for the kernels' panel width.
        let block = ((n + parts - 1) / parts + 15) / 16 * 16
        let aAddress = UInt(bitPattern: a), bAddress = UInt(bitPattern: b), cAddress = UInt(bitPattern: c)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = part * block
            let width = min(block, n - start)
            guard width > 0, let a = UnsafePointer<Float>(bitPattern: aAddress),
                  let b = UnsafePointer<Float>(bitPattern: bAddress),
                  let c = UnsafeMutablePointer<Float>(bitPattern: cAddress) else { return }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(width), Int32(k), 1, a, Int32(k),
                        b + start * k, Int32(k), beta, c + start, Int32(n))
        }
    }

    /// Single-threaded general product for use inside an already-parallel loop:
    /// C[m×n] = α·op(A)·op(B) + β·C with explicit leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Online core count (sysconf), without pulling Foundation into hot code.
enum ProcessInfoCores {
    static var count: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
