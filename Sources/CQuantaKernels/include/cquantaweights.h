// Kernels for weights kept in their stored form (issue 13): tile decoders that turn a run of
// stored blocks into f32 (fed to sgemm), the activation quantizers of ggml's CPU backend (the
// `vec_dot_type` each weight type multiplies against), per-type unpacking into a common
// "int8 values + per-block float scale (+ min)" form, and the blocked int8 GEMM that multiplies
// that form against quantized activations. Every function is compiled for AVX-512 / AVX2 /
// baseline x86-64 and chosen at load (target_clones), like cquantakernels.h.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Tile decoders (bit-exact with gguf-py 0.19.0 `gguf.quants.dequantize`)
// `n` is the number of *elements* for f16/bf16 and the number of *blocks* for the block types.
void quanta_decode_f16(const void *src, float *dst, size_t n);
void quanta_decode_bf16(const void *src, float *dst, size_t n);
void quanta_decode_q4_0(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q4_1(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q5_0(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q5_1(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q8_0(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q2_K(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q3_K(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q4_K(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q5_K(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_q6_K(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_iq4_nl(const void *blocks, float *dst, size_t nblocks);
void quanta_decode_iq4_xs(const void *blocks, float *dst, size_t nblocks);

// MARK: - Activation rounding as ggml's CPU backend converts src1 to a weight's vec_dot_type
// y = the values the dot product sees (x rounded to f16 / bf16).
void quanta_round_f16(const float *x, float *y, size_t n);
void quanta_round_bf16(const float *x, float *y, size_t n);

/// Which block format ggml quantizes activations to before a quantized dot product.
typedef enum {
    QUANTA_ACT_Q8_0 = 0,  // blocks of 32: f16 d, int8 q (for Q4_0, Q5_0, Q8_0, IQ4_NL)
    QUANTA_ACT_Q8_1 = 1,  // blocks of 32: f16 d, f16 s = d·Σq, int8 q (for Q4_1, Q5_1)
    QUANTA_ACT_Q8_K = 2,  // blocks of 256: f32 d, int8 q (for Q2_K…Q6_K, IQ4_XS)
} quanta_act_kind;

/// Quantizes `rows` rows of `k` activations (row stride `ldx` floats; k a multiple of 32, or of
/// 256 for Q8_K) exactly as ggml-cpu's x86 `quantize_row_q8_0/q8_1/q8_K` (the `from_float` of the
/// vec_dot_type) would, into the int8 GEMM's activation form:
///   q[r·k + i]      the int8 values,
///   d[r·(k/bs) + b] the scale of the ggml block holding sub-block b, as the dot product reads it
///                   (f16-rounded for Q8_0/Q8_1, f32 for Q8_K),
///   sum[r·(k/bs)+b] Σ q over sub-block b (int32),
/// where `bs` (16 or 32) is the weight's scale-block size and divides the activation block.
void quanta_quantize_acts(const float *x, size_t rows, size_t k, size_t ldx, quanta_act_kind kind, int bs,
                          int8_t *q, float *d, int32_t *sum);

// MARK: - Unpacking a stored type into the int8 GEMM's weight form
// For `nrows` rows of `k` elements (blocks back to back, row after row) writes
//   q[r·k + i]         integer value of each weight (int8),
//   scale[r·(k/bs)+b]  float scale of scale-block b,
//   min[r·(k/bs)+b]    additive float offset of scale-block b (NULL-able output; types without
//                      one write nothing),
// so that weight = scale·q + min exactly as the type's dequantizer computes it mathematically.
// Returns bs (32 or 16) and whether the type has a min via *has_min; see each type's comment in the
// implementation for the exact integers chosen.
int quanta_unpack_q4_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q4_1(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q5_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q5_1(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q8_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q2_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q3_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q4_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q5_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_q6_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_iq4_nl(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);
int quanta_unpack_iq4_xs(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min);

// MARK: - Blocked int8 GEMM
// Implemented in i8gemm.c, which picks its own path once at the first call (AVX-512 VNNI, AVX2, or
// portable C, by __builtin_cpu_supports; QUANTA_I8GEMM_ISA=scalar|avx2|avx512 in the environment
// caps the choice, for tests) instead of target_clones.
//
// Packed layout: 16-row panels, one after another; weight row 16·p + r is lane r of panel p (the
// last panel is zero-padded to 16 rows). A panel is a 64-byte header (its weight offset and range)
// followed by k/bs blocks of bs/4 64-byte vectors, each holding 4 consecutive columns of the 16
// rows as unsigned bytes q + off (off = −min q over the panel), then the 16 scales (f32) and, with
// has_min, the 16 mins (f32). Every piece is a multiple of 64 bytes; panels are self-contained.
//
// Sub-ranges (how callers split n across threads): panel p (rows 16·p …) starts at byte
//   quanta_i8_packed_size(16·p, k, bs, has_min)
// of the packed buffer, so rows [16·p, 16·p + m) are multiplied by
//   quanta_i8_gemm(packed + quanta_i8_packed_size(16·p, k, bs, has_min), m, k, bs, has_min,
//                  qa, da, sa, rows, c + 16·p, ldc, accumulate)
// for any m ≤ n − 16·p; ranges that start on a panel boundary are independent (no shared writes).

/// Bytes of a packed weight panel of n rows × k columns (scale blocks of bs, with or without min):
/// ⌈n/16⌉ · (64 + (k/bs) · (16·bs + 64·(1 + has_min))).
size_t quanta_i8_packed_size(size_t n, size_t k, int bs, int has_min);

/// Packs the unpacked form (q [n][k] row-major, any int8 values; scale/min [n][k/bs]; min may be
/// NULL when has_min = 0) into the GEMM's panel layout. k is a multiple of 32 and of bs (16 or 32);
/// `packed` holds quanta_i8_packed_size(n, k, bs, has_min) bytes, 64-byte aligned.
void quanta_i8_pack(const int8_t *q, const float *scale, const float *min, size_t n, size_t k, int bs, int has_min,
                    void *packed);

/// c[t·ldc + j] (+)= Σ_b ( scale[j][b]·da[t][b]·Σ_{i∈b} qa[t][i]·qw[j][i]  +  min[j][b]·da[t][b]·sa[t][b] )
/// for t < rows, j < n; b runs over the k/bs scale blocks. qa is int8 [rows][k] with values in
/// [−127, 127]; da is f32 [rows][k/bs]; sa is int32 [rows][k/bs] and must equal Σ qa over each block
/// (it also undoes the packed weights' offset, whether or not has_min). The block sums are exact in
/// int32; the per-block combination is f32 (scale·da products, FMA into the running sum). Columns
/// of c past n are not touched. Single-threaded, allocation-free (the caller splits n by panel
/// ranges, see above, or rows); `accumulate` = 0 overwrites c.
void quanta_i8_gemm(const void *packed, size_t n, size_t k, int bs, int has_min,
                    const int8_t *qa, const float *da, const int32_t *sa, size_t rows,
                    float *c, size_t ldc, int accumulate);

// MARK: - BF16 GEMM
// Implemented in bf16gemm.c: bf16 weight rows straight from the map against bf16 activations, with
// AVX512_BF16 (vdpbf16ps) where the CPU has it (QUANTA_BF16GEMM=0 in the environment says it has
// not), portable f32 otherwise.

/// 1 when the vdpbf16ps kernel runs on this CPU (the only case where this path beats tile + sgemm).
int quanta_bf16_gemm_available(void);

/// Bytes of the scratch block quanta_bf16_gemm needs for rows of k columns: 64·k (64-byte aligned).
size_t quanta_bf16_scratch_bytes(size_t k);

/// y[r·k + i] = x[r·stride + i] rounded to bf16 as ggml rounds (ggml_compute_fp32_to_bf16).
void quanta_to_bf16(const float *x, size_t rows, size_t k, size_t stride, uint16_t *y);

/// c[t·ldc + j] (+)= Σ_i xa[t·k + i] · W[row0 + j][i] for t < rows, j < n, where W's rows are bf16
/// (k each, contiguous, little-endian) at `base`, row R stored at row rowmap[R] (rowmap NULL: at R).
/// k is even. `scratch` holds quanta_bf16_scratch_bytes(k) bytes, 64-byte aligned. Single-threaded,
/// allocation-free; `accumulate` = 0 overwrites c.
void quanta_bf16_gemm(const void *base, const int32_t *rowmap, size_t row0, size_t n, size_t k, const uint16_t *xa,
                      size_t rows, float *c, size_t ldc, int accumulate, void *scratch);

#ifdef __cplusplus
}
#endif
