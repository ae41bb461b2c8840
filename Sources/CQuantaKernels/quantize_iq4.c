// quanta_quantize_iq4_nl / quanta_quantize_iq4_xs: the non-linear 4-bit quantizers of
// ggml-quants.c (llama.cpp as vendored in the llama-cpp-python 0.3.36 sdist), byte-identical with
// `quantize_iq4_nl` and `quantize_iq4_xs` as libggml-base is built there (x86-64 GCC -O3, no -march
// flags: plain SSE2 f32 arithmetic, no FMA contraction). See cquantaquantize.h for the contract.
//
// Both go through ggml's quantize_row_iq4_nl_impl with ntry = 7 (IQ4_NL's `_ref` uses ntry = -1, a
// different search; llama-quantize never calls it). Per sub-block of 32 values x with weights w:
//   w      = x*x without importance, qw * sqrtf(sigma2 + x*x) with it, where sigma2 is
//            (Σ x*x over the super-block, summed left to right in f32) * 2/super-block size,
//   max    = the first x of largest |x| (strict >, so NaN never wins); amax < 1e-15 (GROUP_MAX_EPS)
//            -> scale 0 and no search,
//   search = one pass at id = 1 / (-max / -127), then 15 passes at id = (itry - 127) / max for
//            itry = -7..7; a pass maps every x to the nearest grid value q = kvalues_iq4nl[
//            best_index_int8(id*x)] and sums Σ (w*q)*x and Σ (w*q)*q left to right in f32;
//            the first pass gives d = Σqx/Σq2 (0 unless Σq2 > 0) and best = d*Σqx, a later pass
//            replaces them when Σq2 > 0 && Σqx*Σqx > best*Σq2 (strict: the earlier pass wins ties).
// IQ4_NL (super-block = sub-block = 32): d -> f16, then every x is re-mapped with id = 1/d (0 when
// d == 0), d being the f32 scale, not its f16 rounding. IQ4_XS (super-block 256, 8 sub-blocks):
// the sub-block scale of largest |d| (strict >), max_scale, gives the super-block scale
// D = -max_scale/32 (stored as f16; the f32 D is used below), each sub-block scale becomes
// l = clamp(nearest_int(d / D), -32, 31) stored as l + 32 in 6 bits, and the sub-block's x are
// re-mapped with id = 1/(D*l) (0 when D*l == 0).
//
// Speed without changing a bit: the 16 passes of a sub-block are independent, so they run side by
// side as the 16 lanes of one f32x16 (one zmm on x86-64-v4, two ymm on v3, four xmm otherwise):
// every lane does exactly the scalar pass's operations on its own id, and its sums still run over
// the 32 values in order. best_index_int8's binary search becomes a branch-free count of the grid
// midpoints at or below v (see iq4nl_index), which is the same index for every float.
#include "cquantaquantize.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "weights_common.h"

#define IQ4_SUB 32               // values per sub-block (QK4_NL, and IQ4_XS's sub-block)
#define IQ4_NL_BLOCK_BYTES 18    // block_iq4_nl: f16 d, qs[16]
#define IQ4_XS_BLOCK_BYTES 136   // block_iq4_xs: f16 d, u16 scales_h, scales_l[4], qs[128]
#define IQ4_GROUP_MAX_EPS 1e-15f // ggml-quants.c GROUP_MAX_EPS: a sub-block below it is all zero

// 16 float / int lanes (GNU vector extensions). Only forced-inline helpers take or return them, so
// no call ever crosses the ABI whose vector passing -Wpsabi warns about on the baseline target.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#endif
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

// MARK: - Scalar helpers

// GGML_FP32_TO_FP16 of ggml-impl.h (ggml_compute_fp32_to_fp16, software, as an x86 build without
// F16C runs it): round to nearest even (f16_round_magnitude), inf from 65520 on, and every NaN
// -> 0x7e00 with the input's sign.
QUANTA_INLINE uint16_t f32_to_f16_ggml(float f) {
    const uint32_t u = f32_to_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;
    const uint32_t r = f16_round_magnitude(a);  // f32 bits of |f| rounded to f16
    uint32_t h;
    if (r >= 0x7f800000u) h = 0x7c00u;
    else if (r >= 0x38800000u) h = (r >> 13) - ((127u - 15u) << 10);  // rebias the exponent
    else h = (uint32_t)(bits_to_f32(r) * 0x1p24f);                    // subnormal: k * 2^-24
    return sign | (uint16_t)h;
}

// nearest_int of ggml-quants.c: the low mantissa bits of f + 1.5*2^23 (round half to even for
// |f| < 2^22; beyond that, inf and NaN give whatever bits the add leaves, as in ggml).
QUANTA_INLINE int nearest_int_ggml(float f) {
    const float biased = f + 12582912.0f;
    return (int)(f32_to_bits(biased) & 0x007fffffu) - 0x00400000;
}

QUANTA_INLINE void store_u16(uint8_t *p, uint16_t v) {
    memcpy(p, &v, sizeof v);  // little-endian, as ggml stores it
}

// MARK: - The grid lookup

// Midpoint k (k = 0..14) between grid values k and k + 1 (exact: a half-integer).
#define IQ4NL_MID(k) (0.5f * (float)(kvalues_iq4nl[(k)] + kvalues_iq4nl[(k) + 1]))

// best_index_int8(16, kvalues_iq4nl, v) for 16 values at once: the number of midpoints m with
// !(v < m). ggml compares the rounded distances v - val[i] < val[i+1] - v; near a midpoint both
// are exact in f32 (|v| and the distances lie in binades whose ulp divides them), and elsewhere
// rounding is monotonic, so the comparison is v < m exactly. Checked against ggml's function for
// all 2^32 floats: ±inf land at the ends, and NaN, which fails every `<` of the binary search, at
// 15 (hence !(v < m) rather than v >= m).
QUANTA_INLINE i32x16 iq4nl_index16(f32x16 v) {
    i32x16 index = (i32x16){0};
    for (int k = 0; k < 15; k++) index -= ~(v < IQ4NL_MID(k));  // a comparison is 0 / -1 per lane
    return index;
}

// kvalues_iq4nl[best_index_int8(v)] as floats: -127 plus the step to every grid value whose lower
// midpoint is reached (the partial sums are small integers, exact).
QUANTA_INLINE f32x16 iq4nl_value16(f32x16 v) {
    i32x16 q = (i32x16){0} + kvalues_iq4nl[0];
    for (int k = 0; k < 15; k++) {
        const int32_t step = kvalues_iq4nl[k + 1] - kvalues_iq4nl[k];
        q += ~(v < IQ4NL_MID(k)) & step;
    }
    return __builtin_convertvector(q, f32x16);
}

// best_index_int8 for one sub-block: L[j] = index of id * x[j].
QUANTA_INLINE void iq4nl_indices(const float *restrict x, float id, uint8_t *restrict L) {
    for (int j = 0; j < IQ4_SUB; j += 16) {
        f32x16 v;
        memcpy(&v, x + j, sizeof v);
        const i32x16 index = iq4nl_index16(id * v);
        for (int i = 0; i < 16; i++) L[j + i] = (uint8_t)index[i];
    }
}

// MARK: - quantize_row_iq4_nl_impl, one sub-block

#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define IQ4_VECTOR_SQRT 1
#endif
#endif

// The weights of one sub-block, as quantize_row_iq4_nl_impl forms them: x*x without importance,
// qw * sqrtf(sigma2 + x*x) with it. sqrtf is IEEE's correctly rounded square root either way; the
// elementwise builtin only spares the errno check that keeps clang from vectorizing sqrtf.
QUANTA_INLINE void iq4_weights(const float *restrict x, const float *restrict qw, float sigma2,
                               float *restrict weight) {
    if (qw) {
#if defined(IQ4_VECTOR_SQRT)
        for (int j = 0; j < IQ4_SUB; j += 16) {
            f32x16 xv, qv;
            memcpy(&xv, x + j, sizeof xv);
            memcpy(&qv, qw + j, sizeof qv);
            const f32x16 w = qv * __builtin_elementwise_sqrt(sigma2 + xv * xv);
            memcpy(weight + j, &w, sizeof w);
        }
#else
        for (int j = 0; j < IQ4_SUB; j++) weight[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
#endif
    } else {
        for (int j = 0; j < IQ4_SUB; j++) weight[j] = x[j] * x[j];
    }
}

// The first x of largest |x| (strict >: the earliest wins ties, NaN never wins); *amax gets |max|.
QUANTA_INLINE float iq4_signed_max(const float *restrict x, float *amax) {
    float best_abs = 0, best = 0;
    for (int j = 0; j < IQ4_SUB; j++) {
        const float ax = fabsf(x[j]);
        if (ax > best_abs) {
            best_abs = ax;
            best = x[j];
        }
    }
    *amax = best_abs;
    return best;
}

// The scale search of quantize_row_iq4_nl_impl with ntry = 7 for a sub-block that is not all zero
// (max = its signed largest value). Lane 0 is ggml's first pass (id = 1/d with d = -max/values[0]),
// lanes 1..15 the passes itry = -7..7 (id = (itry + values[0]) / max), each summed over j in order.
QUANTA_INLINE float iq4_search_scale(const float *restrict x, const float *restrict weight, float max) {
    f32x16 id;
    const float d0 = -max / (float)kvalues_iq4nl[0];
    id[0] = 1 / d0;
    for (int t = 1; t < 16; t++) id[t] = (float)((t - 8) + kvalues_iq4nl[0]) / max;

    f32x16 sumqx = (f32x16){0}, sumq2 = (f32x16){0};
    for (int j = 0; j < IQ4_SUB; j++) {
        const float xj = x[j], wj = weight[j];
        const f32x16 q = iq4nl_value16(id * xj);
        const f32x16 wq = wj * q;     // ggml: w*q*xb[j] and w*q*q, i.e. (w*q)*x and (w*q)*q
        sumqx += wq * xj;
        sumq2 += wq * q;
    }

    float d = sumq2[0] > 0 ? sumqx[0] / sumq2[0] : 0.f;
    float best = d * sumqx[0];
    for (int t = 1; t < 16; t++) {
        if (sumq2[t] > 0 && sumqx[t] * sumqx[t] > best * sumq2[t]) {
            d = sumqx[t] / sumq2[t];
            best = d * sumqx[t];
        }
    }
    return d;
}

// The scale quantize_row_iq4_nl_impl settles on for one sub-block (0 for an all-zero one).
QUANTA_INLINE float iq4_sub_block_scale(const float *restrict x, const float *restrict qw, float sigma2) {
    float weight[IQ4_SUB];
    iq4_weights(x, qw, sigma2, weight);
    float amax;
    const float max = iq4_signed_max(x, &amax);
    if (amax < IQ4_GROUP_MAX_EPS) return 0;
    return iq4_search_scale(x, weight, max);
}

// sigma2 of quantize_row_iq4_nl_impl: Σ x*x over the super-block, left to right, times 2/n
// (only read when importance weights are given).
QUANTA_INLINE float iq4_sigma2(const float *restrict x, int n) {
    float sum = 0;
    for (int j = 0; j < n; j++) sum += x[j] * x[j];
    return sum * (2.f / (float)n);
}

// qs of both block types: value j of a 32-group in the low nibble, value j + 16 in the high one.
QUANTA_INLINE void iq4_pack(const uint8_t *restrict L, uint8_t *restrict qs) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(L[j] | (L[16 + j] << 4));
}

// MARK: - IQ4_NL

// One block_iq4_nl (quantize_row_iq4_nl_impl with super_block_size = block_size = 32).
QUANTA_INLINE void quantize_iq4_nl_block(const float *restrict x, const float *restrict qw, uint8_t *restrict out) {
    const float sigma2 = qw ? iq4_sigma2(x, IQ4_SUB) : 0;
    const float d = iq4_sub_block_scale(x, qw, sigma2);
    store_u16(out, f32_to_f16_ggml(d));
    const float id = d != 0 ? 1 / d : 0;  // NaN != 0: NaN, mapping every value to 15 as ggml does
    uint8_t L[IQ4_SUB];
    iq4nl_indices(x, id, L);
    iq4_pack(L, out + 2);
}

QUANTA_CLONES
size_t quanta_quantize_iq4_nl(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    if (nrows <= 0 || n_per_row <= 0) return 0;
    const int64_t nblock = n_per_row / IQ4_SUB;
    uint8_t *out = (uint8_t *)dst;
    for (int64_t row = 0; row < nrows; row++) {
        const float *x = src + row * n_per_row;
        for (int64_t ib = 0; ib < nblock; ib++) {
            quantize_iq4_nl_block(x + ib * IQ4_SUB, imatrix ? imatrix + ib * IQ4_SUB : NULL, out);
            out += IQ4_NL_BLOCK_BYTES;
        }
    }
    return (size_t)(nrows * nblock * IQ4_NL_BLOCK_BYTES);
}

// MARK: - IQ4_XS

// One block_iq4_xs (quantize_row_iq4_nl_impl with super_block_size = 256, block_size = 32).
QUANTA_INLINE void quantize_iq4_xs_block(const float *restrict x, const float *restrict qw, uint8_t *restrict out) {
    const float sigma2 = qw ? iq4_sigma2(x, QK_K) : 0;
    float scales[QK_K / IQ4_SUB];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < QK_K / IQ4_SUB; ib++) {
        const float d = iq4_sub_block_scale(x + ib * IQ4_SUB, qw ? qw + ib * IQ4_SUB : NULL, sigma2);
        scales[ib] = d;
        if (fabsf(d) > amax_scale) {  // strict: the first of equal magnitude wins, NaN never
            amax_scale = fabsf(d);
            max_scale = d;
        }
    }

    // The super-block scale: D = -max_scale/32 (an all-zero block gives -0, stored as f16 0x8000).
    const float D = -max_scale / 32;
    store_u16(out, f32_to_f16_ggml(D));
    const float iD = D != 0 ? 1 / D : 0;
    uint16_t scales_h = 0;
    uint8_t *scales_l = out + 4;
    uint8_t L[QK_K];
    for (int ib = 0; ib < QK_K / IQ4_SUB; ib++) {
        int l = nearest_int_ggml(iD * scales[ib]);
        l = l < -32 ? -32 : (l > 31 ? 31 : l);
        const float dl = D * (float)l;
        const float idl = dl != 0 ? 1 / dl : 0;
        iq4nl_indices(x + ib * IQ4_SUB, idl, L + ib * IQ4_SUB);
        const unsigned biased = (unsigned)(l + 32);
        if (ib % 2 == 0) scales_l[ib / 2] = (uint8_t)(biased & 15u);
        else scales_l[ib / 2] |= (uint8_t)((biased & 15u) << 4);
        scales_h |= (uint16_t)((biased >> 4) << (2 * ib));
    }
    store_u16(out + 2, scales_h);
    for (int i = 0; i < QK_K / 32; i++) iq4_pack(L + 32 * i, out + 8 + 16 * i);
}

QUANTA_CLONES
size_t quanta_quantize_iq4_xs(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    if (nrows <= 0 || n_per_row <= 0) return 0;
    const int64_t nblock = n_per_row / QK_K;
    uint8_t *out = (uint8_t *)dst;
    for (int64_t row = 0; row < nrows; row++) {
        const float *x = src + row * n_per_row;
        for (int64_t ib = 0; ib < nblock; ib++) {
            quantize_iq4_xs_block(x + ib * QK_K, imatrix ? imatrix + ib * QK_K : NULL, out);
            out += IQ4_XS_BLOCK_BYTES;
        }
    }
    return (size_t)(nrows * nblock * IQ4_XS_BLOCK_BYTES);
}
