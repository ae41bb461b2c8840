// The scale searches shared by the GGUF block quantizers of quantize_kquants.c: ggml-quants.c's
// nearest_int, make_qx_quants, make_q3_quants, make_qkx2_quants / make_qkx3_quants and
// make_qp_quants (llama.cpp as vendored in the llama-cpp-python 0.3.36 sdist), reproduced so that
// every f32 operation happens on the same operands, in the same order and the same precision as in
// the x86-64 GCC 12 -O3 build of libggml-base (SSE2, no FMA: a product and the sum it feeds are two
// roundings). Every one of these ggml functions computes in float only (no double accumulator),
// and so do we. Private to the CQuantaKernels target.
//
// The searches try a fixed list of candidate scales and keep the best by a sequential "better than
// the best so far" test. Evaluating one candidate is a chain of serial f32 sums (ggml's order, which
// must not be reassociated), so the chain's latency bounds a literal port. quantize_search.c
// evaluates four candidates at once, one per SIMD lane: each lane runs exactly ggml's serial sum for
// its candidate, and the keep-the-best scan then visits the candidates in ggml's order. Where a
// candidate depends on which earlier ones were kept (make_qkx2/3's running min) the lanes are
// speculative and re-run from the first candidate whose inputs changed.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "weights_common.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

// GROUP_MAX_EPS of ggml-quants.c: below this |x| a group is "all zero".
#define QUANTA_GROUP_MAX_EPS 1e-15f

// ggml's nearest_int: adding 1.5 * 2^23 rounds fval to an integer in the low mantissa bits (round
// half to even for |fval| < 2^22). ggml asserts |fval| <= 4194303 only in debug builds; the release
// library returns whatever the mantissa bits give (for NaN, inf and huge values too), and so do we:
// the result is always in [-2^22, 2^22), so callers' clamps keep it in range.
QUANTA_INLINE int nearest_int(float fval) {
    const float biased = fval + 12582912.0f;
    return (int)(f32_to_bits(biased) & 0x007fffffu) - 0x00400000;
}

// ggml's GGML_FP32_TO_FP16 (ggml-impl.h ggml_compute_fp32_to_fp16, the software conversion, which
// the reference build uses): round to nearest even, |x| >= 65520 -> inf, f16 subnormals rounded to
// multiples of 2^-24, every NaN -> the quiet NaN 0x7e00 with the input's sign (payload dropped).
QUANTA_INLINE uint16_t f32_to_f16_ggml(float f) {
    const uint32_t u = f32_to_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    // f16 normal range (>= 2^-14): round to nearest even at bit 13, rebias the exponent 127 -> 15
    // (a mantissa carry bumps the exponent, up to 0x7c00 = inf).
    const uint32_t r = a + 0x0fffu + ((a >> 13) & 1u);
    const uint16_t normal = (uint16_t)((r - 0x38000000u) >> 13);
    // Below 2^-14: |x| + 0.5 lies in [0.5, 1], whose ulp is 2^-24, so the f32 add rounds |x| to
    // nearest even in f16-subnormal units, which are then the low bits (0x400 = 2^-14 is the
    // smallest normal, and the encoding gives it for free).
    const uint16_t sub = (uint16_t)(f32_to_bits(bits_to_f32(a) + 0.5f) - 0x3f000000u);
    const uint16_t mag = a > 0x7f800000u ? 0x7e00u                // NaN
                       : a >= 0x477ff000u ? 0x7c00u               // rounds past 65504: inf
                       : a >= 0x38800000u ? normal : sub;
    return sign | mag;
}

// Little-endian f16 store of GGML_FP32_TO_FP16(f); returns GGML_FP16_TO_FP32 of what was stored
// (exact widening), which the K-quants re-read to requantize against the stored scale.
QUANTA_INLINE float store_f16(uint8_t *p, float f) {
    const uint16_t h = f32_to_f16_ggml(f);
    memcpy(p, &h, sizeof h);
    return f16_to_f32(h);
}

// MARK: - 4-lane helpers (GNU vector extensions: SSE2 on the baseline x86-64, NEON on arm64)

typedef float f32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));

QUANTA_INLINE f32x4 splat_f(float s) { return (f32x4){s, s, s, s}; }
QUANTA_INLINE i32x4 splat_i(int32_t s) { return (i32x4){s, s, s, s}; }

QUANTA_INLINE f32x4 load4(const float *p) {
    f32x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

// mask ? a : b, lane by lane (mask lanes are all ones or all zeros, as vector compares give them).
QUANTA_INLINE i32x4 select_i(i32x4 mask, i32x4 a, i32x4 b) { return (mask & a) | (~mask & b); }
QUANTA_INLINE f32x4 select_f(i32x4 mask, f32x4 a, f32x4 b) {
    return (f32x4)select_i(mask, (i32x4)a, (i32x4)b);
}

// a > b ? a : b and a < b ? a : b per lane: maxps / minps exactly (the second operand when
// unordered), spelled out where SSE2 is absent.
QUANTA_INLINE f32x4 max4(f32x4 a, f32x4 b) {
#if defined(__SSE2__)
    return (f32x4)_mm_max_ps((__m128)a, (__m128)b);
#else
    return select_f(a > b, a, b);
#endif
}
QUANTA_INLINE f32x4 min4(f32x4 a, f32x4 b) {
#if defined(__SSE2__)
    return (f32x4)_mm_min_ps((__m128)a, (__m128)b);
#else
    return select_f(a < b, a, b);
#endif
}

// nearest_int in every lane (the same add and bit operations).
QUANTA_INLINE i32x4 nearest_int4(f32x4 v) {
    const i32x4 bits = (i32x4)(v + splat_f(12582912.0f));
    return (bits & splat_i(0x007fffff)) - splat_i(0x00400000);
}

// MAX(lo, MIN(hi, l)) on ints, as ggml's macros.
QUANTA_INLINE i32x4 clamp4(i32x4 l, int lo, int hi) {
    const i32x4 vhi = splat_i(hi), vlo = splat_i(lo);
    l = select_i(l > vhi, vhi, l);
    return select_i(l < vlo, vlo, l);
}

// make_qx_quants(n, nmax, x, L, rmse_type = 1, w) with weights w (ggml passes qw, or x[i]^2 when
// qw is NULL: callers fill w then). Symmetric scale: L[i] in [0, 2 nmax) with x ~ scale*(L - nmax).
// n <= 32.
float quanta_search_signed_scale(int n, int nmax, const float *restrict x, const float *restrict w,
                                 int8_t *restrict L);

// make_q3_quants(n, nmax, x, L, do_rmse = true): weights x[i]^2 and a coordinate-descent refinement
// of the levels (Q3_K without importance). n <= 32.
float quanta_search_signed_scale_refined(int n, int nmax, const float *restrict x, int8_t *restrict L);

// make_qkx2_quants (Q2_K/Q4_K/Q5_K without importance) and make_qkx3_quants with weights (every
// `_impl` with a min): x ~ scale*L - the_min, L[i] in [0, nmax], the_min >= 0 unless x holds NaN.
// The two ggml functions differ only in `max == min` vs `max <= min` for the degenerate test, which
// are the same condition (max >= min always holds, NaN making both false). n <= 32, nstep >= 1.
float quanta_search_scale_min(int n, int nmax, const float *restrict x, const float *restrict w,
                              uint8_t *restrict L, float *restrict the_min, float rmin, float rdelta,
                              int nstep, bool use_mad);

// make_qp_quants(n, nmax, x, L, w): a positive scale for non-negative x (the sub-block scales and
// mins of Q2_K/Q4_K/Q5_K with importance), L[i] in [0, nmax]. n <= 32.
float quanta_search_positive_scale(int n, int nmax, const float *restrict x, uint8_t *restrict L,
                                   const float *restrict w);
