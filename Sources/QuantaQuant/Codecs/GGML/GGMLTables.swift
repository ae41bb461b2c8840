/// Lookup tables of the non-linear ggml types, stored as tuples so reading them never allocates
/// or bounds-checks in a hot loop.
enum GGMLTables {
    /// IQ4_NL / IQ4_XS code book: llama.cpp ggml-common.h `kvalues_iq4nl`,
    /// gguf-py quants.py `IQ4_NL.kvalues`.
    static let iq4nl: SIMD16<Float> = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// MXFP4 (E2M1) values, doubled: llama.cpp ggml-common.h `kvalues_mxfp4`,
    /// gguf-py quants.py `MXFP4.kvalues`. Index 8 is −0 in E2M1 but 0 here (the table is int8).
    static let mxfp4: SIMD16<Float> = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]
}
