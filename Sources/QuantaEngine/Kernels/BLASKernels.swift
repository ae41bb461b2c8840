import COpenBLAS

/// Which OpenBLAS kernel set this process runs, reported by `quanta eval` because it sets the speed.
///
/// OpenBLAS builds with DYNAMIC_ARCH (Debian's) pick kernels from the CPU id when the library
/// loads, unless the OPENBLAS_CORETYPE environment variable names a set. Measured on this
/// project's 2-core AVX-512 machine (`quanta eval`, SmolLM2 F32, shared protocol): the detected
/// "Cooperlake" (AVX-512) kernels ran ~1000 tokens/s, OPENBLAS_CORETYPE=Haswell (AVX2) ~650.
public enum BLASKernels {
    /// OpenBLAS's name for the kernel set it loaded ("Cooperlake", "Haswell", …).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
