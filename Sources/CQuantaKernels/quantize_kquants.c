// GGUF block quantizers byte-identical with llama.cpp's ggml_quantize_chunk (see cquantaquantize.h):
// the K-quants Q2_K..Q6_K, with and without importance, and Q4_0/Q4_1/Q5_0/Q5_1 (their `_impl`
// paths with importance, their `_ref` paths without).
//
// Each row function below reproduces one ggml-quants.c function (named in its comment) on one
// block: the same f32 operations in the same order, the same integer truncations (ggml stores
// nearest_int results into uint8_t / int8_t fields and reads them back), the same tie-breaking,
// and the scales re-read from their stored f16 before the final requantization. The searches live
// in quantize_search.c. Blocks are written through byte offsets (ggml-common.h's layouts) with
// memcpy for the f16 fields, so `dst` needs no alignment.
//
// Non-finite input (NaN / inf values or importance weights) never indexes anything: every level is
// clamped or truncated to its field before it is stored, as in ggml, and the bytes then equal
// ggml's too (checked against libggml-base.so). One corner is compiler-dependent in ggml itself:
// with NaN *importance weights* the sign of a NaN scale follows the operand order SSE gives two NaN
// inputs, which C leaves to the compiler; the -O2 build SwiftPM makes matches, -O0 builds may not.
#pragma clang fp contract(off)

#include "cquantaquantize.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "quantize_search.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// MARK: - Block layouts (ggml-common.h)

// block_q2_K: scales[16] (low nibble: scale, high nibble: min), qs[64] (2-bit), d, dmin.
enum { Q2K_SCALES = 0, Q2K_QS = 16, Q2K_D = 80, Q2K_DMIN = 82, Q2K_BYTES = 84 };
// block_q3_K: hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 6-bit scales), d.
enum { Q3K_HMASK = 0, Q3K_QS = 32, Q3K_SCALES = 96, Q3K_D = 108, Q3K_BYTES = 110 };
// block_q4_K: d, dmin, scales[12] (8 6-bit scale/min pairs), qs[128] (4-bit).
enum { Q4K_D = 0, Q4K_DMIN = 2, Q4K_SCALES = 4, Q4K_QS = 16, Q4K_BYTES = 144 };
// block_q5_K: d, dmin, scales[12], qh[32] (fifth bit), qs[128] (low 4 bits).
enum { Q5K_D = 0, Q5K_DMIN = 2, Q5K_SCALES = 4, Q5K_QH = 16, Q5K_QS = 48, Q5K_BYTES = 176 };
// block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d.
enum { Q6K_QL = 0, Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208, Q6K_BYTES = 210 };
// block_q4_0: d, qs[16]. block_q4_1: d, m, qs[16]. block_q5_0: d, qh[4], qs[16].
// block_q5_1: d, m, qh[4], qs[16].
enum { Q4_0_BYTES = 18, Q4_1_BYTES = 20, Q5_0_BYTES = 22, Q5_1_BYTES = 24, QK_LEGACY = 32 };

QUANTA_INLINE float load_f16(const uint8_t *p) { return f16_to_f32(load_u16(p)); }

// Packs 256 2-bit levels as Q2_K / Q3_K store them: byte l of each 32-byte group of a 128-element
// half holds the levels l, l+32, l+64, l+96 at bits 0, 2, 4, 6.
static void pack_2bit(uint8_t *restrict qs, const uint8_t *restrict L) {
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
        }
    }
}

// The 8 (scale, min) 6-bit pairs of Q4_K / Q5_K: pairs 0..3 in the low 6 bits of bytes 0..3 and
// 4..7, pairs 4..7 as nibbles of bytes 8..11 with their top two bits in bits 6..7 of bytes 0..7.
static void pack_k4_scales(uint8_t *restrict s, const uint8_t *restrict ls, const uint8_t *restrict lm) {
    for (int j = 0; j < QK_K / 32; ++j) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j - 0] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

// get_scale_min_k4.
QUANTA_INLINE void k4_pair(int j, const uint8_t *restrict q, uint8_t *restrict d, uint8_t *restrict m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// The final pass of Q4_K / Q5_K (both paths): each sub-block of 32 requantized against the stored
// f16 d, dmin and 6-bit pair, l = clamp(nearest_int((x + dm)/d), 0, nmax); a sub-block whose
// d*sc is 0 keeps the search's levels.
static void requantize_k4(const float *restrict x, const uint8_t *restrict block, int scales_at,
                          int nmax, uint8_t *restrict L) {
    const float d_all = load_f16(block + 0), dmin_all = load_f16(block + 2);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        k4_pair(j, block + scales_at, &sc, &m);
        const float d = d_all * (float)sc;
        if (!d) continue;
        const float dm = dmin_all * (float)m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearest_int((x[32 * j + ii] + dm) / d);
            l = l < nmax ? l : nmax;
            L[32 * j + ii] = (uint8_t)(l > 0 ? l : 0);
        }
    }
}

// The 16 6-bit scales of Q3_K from levels in [0, 64): low nibbles in bytes 0..7 (two per byte),
// top two bits in bytes 8..11 at bit 2*(j/4).
static void pack_q3_scales(uint8_t *restrict s, const int *restrict ls) {
    memset(s, 0, 12);
    for (int j = 0; j < QK_K / 16; ++j) {
        int l = ls[j];
        if (j < 8) {
            s[j] = (uint8_t)(l & 0xF);
        } else {
            s[j - 8] |= (uint8_t)((l & 0xF) << 4);
        }
        l >>= 4;
        s[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
    }
}

// The final pass of Q3_K (both paths): levels requantized against the stored d and 6-bit scales,
// then the high bits moved to hmask (bit k of hmask[m] for element 32k + m) and the low 2 bits
// packed.
static void finish_q3_K(const float *restrict x, uint8_t *restrict y, int8_t *restrict L) {
    const uint8_t *s = y + Q3K_SCALES;
    const float d_all = load_f16(y + Q3K_D);
    for (int j = 0; j < QK_K / 16; ++j) {
        int8_t sc = (int8_t)(j < 8 ? s[j] & 0xF : s[j - 8] >> 4);
        sc = (int8_t)((sc | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
        const float d = d_all * (float)sc;
        if (!d) continue;
        for (int ii = 0; ii < 16; ii += 4) {  // l = MAX(-4, MIN(3, nearest_int(x/d))) + 4
            const i32x4 l = clamp4(nearest_int4(load4(x + 16 * j + ii) / splat_f(d)), -4, 3) + splat_i(4);
            for (int k = 0; k < 4; ++k) L[16 * j + ii + k] = (int8_t)l[k];
        }
    }
    // Levels are in [0, 8): ggml's `if (L > 3) { hmask bit; L -= 4; }` is bit 2 to hmask, L & 3 kept.
    uint8_t *hmask = y + Q3K_HMASK;
    uint8_t low[QK_K];
    for (int m = 0; m < QK_K / 8; ++m) {
        uint8_t bits = 0;
        for (int k = 0; k < 8; ++k) bits |= (uint8_t)(((L[32 * k + m] >> 2) & 1) << k);
        hmask[m] = bits;
    }
    for (int j = 0; j < QK_K; ++j) low[j] = (uint8_t)(L[j] & 3);
    pack_2bit(y + Q3K_QS, low);
}

// Q5_K's packing: 4-bit low parts in qs (two 32-element runs per 64), fifth bits in qh (bit pair
// 2k, 2k+1 for the two runs of 64-element group k).
static void pack_q5_K(uint8_t *restrict y, const uint8_t *restrict L) {
    uint8_t *qh = y + Q5K_QH, *ql = y + Q5K_QS;
    memset(qh, 0, QK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK_K; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
            int l2 = L[n + j + 32];
            if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
            ql[j] = (uint8_t)(l1 | (l2 << 4));
        }
        m1 = (uint8_t)(m1 << 2);
        m2 = (uint8_t)(m2 << 2);
        ql += 32;
    }
}

static void pack_q4_K(uint8_t *restrict y, const uint8_t *restrict L) {
    uint8_t *q = y + Q4K_QS;
    for (int j = 0; j < QK_K; j += 64) {
        for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        q += 32;
    }
}

// Serial sum of squares, left to right (ggml's `sum_x2 += x[l]*x[l]` loops).
QUANTA_INLINE float sum_squares(const float *restrict x, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += x[i] * x[i];
    return s;
}

// Importance weights of the `_impl` paths: qw[l] * sqrtf(sigma2 + x[l]^2); returns their serial sum.
QUANTA_INLINE float importance_weights(int n, const float *restrict x, const float *restrict qw,
                                       float sigma2, float *restrict weights) {
    float sumw = 0;
    for (int l = 0; l < n; ++l) weights[l] = qw[l] * sqrtf(sigma2 + x[l] * x[l]);
    for (int l = 0; l < n; ++l) sumw += weights[l];
    return sumw;
}

// MARK: - Q2_K

// quantize_row_q2_K_ref, one super-block: make_qkx2_quants per 16 with weights |x| (mean absolute
// error), then 4-bit scales and mins relative to their maxima.
static void q2_K_ref_block(const float *restrict x, uint8_t *restrict y) {
    uint8_t L[QK_K];
    float mins[QK_K / 16], scales[QK_K / 16], weights[16];
    const float q4scale = 15.f;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
        for (int l = 0; l < 16; ++l) weights[l] = fabsf(x[16 * j + l]);
        scales[j] = quanta_search_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    uint8_t *sc = y + Q2K_SCALES;
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < QK_K / 16; ++j) sc[j] = (uint8_t)nearest_int(iscale * scales[j]);
        store_f16(y + Q2K_D, max_scale / q4scale);
    } else {
        memset(sc, 0, QK_K / 16);
        store_f16(y + Q2K_D, 0.f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < QK_K / 16; ++j) sc[j] |= (uint8_t)((unsigned)nearest_int(iscale * mins[j]) << 4);  // ggml's `|= (l << 4)`
        store_f16(y + Q2K_DMIN, max_min / q4scale);
    } else {
        store_f16(y + Q2K_DMIN, 0.f);
    }
    const float d_all = load_f16(y + Q2K_D), dmin_all = load_f16(y + Q2K_DMIN);
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = d_all * (float)(sc[j] & 0xF);
        if (!d) continue;
        const float dm = dmin_all * (float)(sc[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int((x[16 * j + ii] + dm) / d);
            L[16 * j + ii] = (uint8_t)(l < 0 ? 0 : (l > 3 ? 3 : l));
        }
    }
    pack_2bit(y + Q2K_QS, L);
}

// quantize_row_q2_K_impl, one super-block (qw: its 256 importance weights): weights
// qw*sqrt(sigma2 + x^2) with sigma2 the super-block's mean square, make_qkx3_quants per 16,
// make_qp_quants for the 4-bit scales and mins, requantize.
static void q2_K_impl_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw) {
    uint8_t L[QK_K], Ls[QK_K / 16], Lm[QK_K / 16];
    float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16], weight[16];
    const float sigma2 = sum_squares(x, QK_K) / (float)QK_K;
    for (int j = 0; j < QK_K / 16; ++j) {
        sw[j] = importance_weights(16, x + 16 * j, qw + 16 * j, sigma2, weight);
        scales[j] = quanta_search_scale_min(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], -0.9f, 0.05f, 36, false);
    }
    const float dm0 = quanta_search_positive_scale(QK_K / 16, 15, scales, Ls, sw);
    const float mm0 = quanta_search_positive_scale(QK_K / 16, 15, mins, Lm, sw);
    const float dm = store_f16(y + Q2K_D, dm0);
    const float mm = store_f16(y + Q2K_DMIN, mm0);
    uint8_t *sc = y + Q2K_SCALES;
    for (int j = 0; j < QK_K / 16; ++j) sc[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = dm * (float)(sc[j] & 0xF);
        if (!d) continue;
        const float m = mm * (float)(sc[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int((x[16 * j + ii] + m) / d);
            L[16 * j + ii] = (uint8_t)(l < 0 ? 0 : (l > 3 ? 3 : l));
        }
    }
    pack_2bit(y + Q2K_QS, L);
}

// MARK: - Q3_K

// quantize_row_q3_K_ref, one super-block: make_q3_quants per 16, then 6-bit signed scales relative
// to the scale of largest magnitude.
static void q3_K_ref_block(const float *restrict x, uint8_t *restrict y) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
        scales[j] = quanta_search_signed_scale_refined(16, 4, x + 16 * j, L + 16 * j);
        const float scale = fabsf(scales[j]);
        if (scale > amax) { amax = scale; max_scale = scales[j]; }
    }
    if (max_scale) {
        const float iscale = -32.f / max_scale;
        int ls[QK_K / 16];
        for (int j = 0; j < QK_K / 16; ++j) {
            const int8_t l = (int8_t)nearest_int(iscale * scales[j]);  // ggml's `int8_t l = ...`
            ls[j] = (l < -32 ? -32 : (l > 31 ? 31 : l)) + 32;
        }
        pack_q3_scales(y + Q3K_SCALES, ls);
        store_f16(y + Q3K_D, 1 / iscale);
    } else {
        memset(y + Q3K_SCALES, 0, 12);
        store_f16(y + Q3K_D, 0.f);
    }
    finish_q3_K(x, y, L);
}

// quantize_row_q3_K_impl, one super-block: weights qw*sqrt(sigma2 + x^2) with sigma2 twice the
// super-block's mean square, make_qx_quants per 16 and again (nmax 32, weighted by the sub-blocks'
// weight sums) for the 6-bit scales.
static void q3_K_impl_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw) {
    int8_t L[QK_K], Ls[QK_K / 16];
    float scales[QK_K / 16], weight[16], sw[QK_K / 16];
    const float sigma2 = 2 * sum_squares(x, QK_K) / (float)QK_K;
    for (int j = 0; j < QK_K / 16; ++j) {
        sw[j] = importance_weights(16, x + 16 * j, qw + 16 * j, sigma2, weight);
        scales[j] = quanta_search_signed_scale(16, 4, x + 16 * j, weight, L + 16 * j);
    }
    const float d_block = quanta_search_signed_scale(QK_K / 16, 32, scales, sw, Ls);
    int ls[QK_K / 16];
    for (int j = 0; j < QK_K / 16; ++j) ls[j] = Ls[j];
    pack_q3_scales(y + Q3K_SCALES, ls);
    store_f16(y + Q3K_D, d_block);
    finish_q3_K(x, y, L);
}

// MARK: - Q4_K / Q5_K

// quantize_row_q4_K_ref / quantize_row_q5_K_ref, one super-block: make_qkx2_quants per 32 with
// weights av_x + |x| (av_x the sub-block's rms), then 6-bit scales and mins relative to their maxima.
static void k4_ref_block(const float *restrict x, uint8_t *restrict y, int nmax, float rmin, int nstep) {
    uint8_t L[QK_K], Ls[QK_K / 32], Lm[QK_K / 32];
    float mins[QK_K / 32], scales[QK_K / 32], weights[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        const float av_x = sqrtf(sum_squares(x + 32 * j, 32) / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = quanta_search_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; ++j) {
        const uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);  // ggml's `uint8_t ls = ...`
        const uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        Ls[j] = ls < 63 ? ls : 63;
        Lm[j] = lm < 63 ? lm : 63;
    }
    pack_k4_scales(y + Q4K_SCALES, Ls, Lm);  // Q4K_SCALES == Q5K_SCALES
    store_f16(y + Q4K_D, max_scale / 63.f);
    store_f16(y + Q4K_DMIN, max_min / 63.f);
    requantize_k4(x, y, Q4K_SCALES, nmax, L);
    if (nmax == 15) pack_q4_K(y, L); else pack_q5_K(y, L);
}

// quantize_row_q4_K_impl / quantize_row_q5_K_impl, one super-block: weights qw*sqrt(sigma2 + x^2)
// with sigma2 twice the super-block's mean square, make_qkx3_quants per 32, make_qp_quants (nmax 63)
// for the scales and mins.
static void k4_impl_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw, int nmax) {
    uint8_t L[QK_K], Ls[QK_K / 32], Lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
    const float sigma2 = 2 * sum_squares(x, QK_K) / (float)QK_K;
    for (int j = 0; j < QK_K / 32; ++j) {
        sw[j] = importance_weights(32, x + 32 * j, qw + 32 * j, sigma2, weights);
        scales[j] = quanta_search_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], -0.9f, 0.05f, 36, false);
    }
    const float d_block = quanta_search_positive_scale(QK_K / 32, 63, scales, Ls, sw);
    const float m_block = quanta_search_positive_scale(QK_K / 32, 63, mins, Lm, sw);
    // Q5_K (not Q4_K) applies MIN(63, ...): it matters when make_qp_quants's level went negative
    // (a negative sub-block scale, possible with negative importance) and wrapped in its uint8_t.
    if (nmax == 31) {
        for (int j = 0; j < QK_K / 32; ++j) {
            Ls[j] = Ls[j] < 63 ? Ls[j] : 63;
            Lm[j] = Lm[j] < 63 ? Lm[j] : 63;
        }
    }
    pack_k4_scales(y + Q4K_SCALES, Ls, Lm);
    store_f16(y + Q4K_D, d_block);
    store_f16(y + Q4K_DMIN, m_block);
    requantize_k4(x, y, Q4K_SCALES, nmax, L);
    if (nmax == 15) pack_q4_K(y, L); else pack_q5_K(y, L);
}

// MARK: - Q6_K

// quantize_row_q6_K_ref / quantize_row_q6_K_impl, one super-block: make_qx_quants (nmax 32) per 16
// with weights x^2 (ref) or qw itself (impl), then int8 scales relative to the largest-magnitude one.
static void q6_K_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw) {
    int8_t L[QK_K];
    float scales[QK_K / 16], weights[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        const float *xb = x + 16 * ib;
        const float *w = qw ? qw + 16 * ib : weights;
        if (!qw) for (int j = 0; j < 16; ++j) weights[j] = xb[j] * xb[j];
        const float scale = quanta_search_signed_scale(16, 32, xb, w, L + 16 * ib);
        scales[ib] = scale;
        const float abs_scale = fabsf(scale);
        if (abs_scale > max_abs_scale) { max_abs_scale = abs_scale; max_scale = scale; }
    }
    if (max_abs_scale < QUANTA_GROUP_MAX_EPS) {
        memset(y, 0, Q6K_BYTES);  // d = f16(0) = 0 too
        return;
    }
    const float iscale = -128.f / max_scale;
    const float d_all = store_f16(y + Q6K_D, 1 / iscale);
    int8_t *sc = (int8_t *)(y + Q6K_SCALES);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        const int l = nearest_int(iscale * scales[ib]);
        sc[ib] = (int8_t)(l < 127 ? l : 127);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = d_all * (float)sc[j];
        if (!d) continue;
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = (int8_t)((l < -32 ? -32 : (l > 31 ? 31 : l)) + 32);
        }
    }
    uint8_t *ql = y + Q6K_QL, *qh = y + Q6K_QH;
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
            ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
            ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
            qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                              ((L[j + l + 96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

// MARK: - Legacy types

// The float -> int8_t / uint8_t casts of the legacy `_ref` functions, as GCC compiles them
// (cvttss2si / cvttps2dq to int32, whose out-of-range and NaN result is INT32_MIN, then the low
// byte). The C cast itself would be undefined for those inputs. Four lanes at a time: on x86 the
// instruction itself, elsewhere the same rule spelled out.
QUANTA_INLINE i32x4 truncate_to_int32x4(f32x4 v) {
#if defined(__SSE2__)
    return (i32x4)_mm_cvttps_epi32((__m128)v);
#else
    i32x4 r;
    for (int k = 0; k < 4; ++k) r[k] = (v[k] >= -2147483648.0f && v[k] < 2147483648.0f) ? (int32_t)v[k] : INT32_MIN;
    return r;
#endif
}

// q[j] = MIN(top, (int8_t)(v_j)) for Q4_0 / Q5_0 / Q4_1 (signed byte compare), or (uint8_t)(v_j)
// for Q5_1 (top < 0), with v_j = x[j] * scale + offset, or (x[j] - min) * scale + offset.
QUANTA_INLINE void legacy_levels(const float *restrict x, float min, float scale, float offset, int top,
                                 bool subtract_min, uint8_t *restrict q) {
    for (int j = 0; j < QK_LEGACY; j += 4) {
        f32x4 v = load4(x + j);
        if (subtract_min) v = v - splat_f(min);
        const i32x4 i = truncate_to_int32x4(v * splat_f(scale) + splat_f(offset));
        i32x4 b = (i32x4)((u32x4)i << 24) >> 24;  // the low byte as int8_t (arithmetic shift back)
        if (top >= 0) b = select_i(splat_i(top) < b, splat_i(top), b);
        for (int k = 0; k < 4; ++k) q[j + k] = (uint8_t)b[k];
    }
}

// Q5_0 / Q5_1 packing: low nibbles (element j, j + 16) in qs[j], fifth bits in the u32 qh.
static void pack_q5_legacy(uint8_t *restrict qh_out, uint8_t *restrict qs, const uint8_t *restrict q) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        qh |= ((q[j] & 0x10u) >> 4) << (j + 0);
        qh |= ((q[j + 16] & 0x10u) >> 4) << (j + 16);
    }
    memcpy(qh_out, &qh, sizeof qh);
}

// The first x[j] of largest |x[j]| over a block of 32 (ggml's `if (amax < fabsf(v)) { amax =
// fabsf(v); max = v; }` from 0, 0; NaN never wins). Four lanes each scan every fourth element with
// that rule, which gives each lane's first maximum; the lanes then agree unless two hold the same
// |x| with different bits (v and -v, or ±0), and only then does the order matter: rescan serially.
QUANTA_INLINE float first_abs_max_32(const float *restrict x) {
    f32x4 amax = splat_f(0.f), max = splat_f(0.f);
    const i32x4 abs_mask = splat_i(0x7fffffff);
    for (int j = 0; j < QK_LEGACY; j += 4) {
        const f32x4 v = load4(x + j), av = (f32x4)((i32x4)v & abs_mask);
        const i32x4 gt = amax < av;
        amax = select_f(gt, av, amax);
        max = select_f(gt, v, max);
    }
    // Branch-free combine (which lane wins is random): the largest |x|, the first lane holding it,
    // and whether another lane holds it with different bits.
    float best = amax[0];
    for (int k = 1; k < 4; ++k) best = amax[k] > best ? amax[k] : best;
    float value = max[3];
    for (int k = 2; k >= 0; --k) value = amax[k] == best ? max[k] : value;
    bool ambiguous = false;
    for (int k = 0; k < 4; ++k) ambiguous |= (amax[k] == best) & (f32_to_bits(max[k]) != f32_to_bits(value));
    if (!ambiguous) return value;
    float a = 0;
    value = 0;
    for (int j = 0; j < QK_LEGACY; ++j) {
        if (a < fabsf(x[j])) { a = fabsf(x[j]); value = x[j]; }
    }
    return value;
}

// The min and max of a block of 32 as ggml's `if (v < min) min = v; if (v > max) max = v;` from
// FLT_MAX / -FLT_MAX (NaN never taken, the first of equal values kept). Per-lane scans with the
// same rule, then the smallest / largest lane result: equal values have equal bits except ±0, where
// the first occurrence decides, so a zero result is recomputed serially.
QUANTA_INLINE void min_max_32(const float *restrict x, float *restrict out_min, float *restrict out_max) {
    f32x4 vmin = splat_f(3.402823466e+38f), vmax = splat_f(-3.402823466e+38f);
    for (int j = 0; j < QK_LEGACY; j += 4) {
        const f32x4 v = load4(x + j);
        vmin = select_f(v < vmin, v, vmin);
        vmax = select_f(v > vmax, v, vmax);
    }
    float min = vmin[0], max = vmax[0];
    for (int k = 1; k < 4; ++k) {
        min = vmin[k] < min ? vmin[k] : min;
        max = vmax[k] > max ? vmax[k] : max;
    }
    if (min == 0) {
        min = 3.402823466e+38f;
        for (int j = 0; j < QK_LEGACY; ++j) min = x[j] < min ? x[j] : min;
    }
    if (max == 0) {
        max = -3.402823466e+38f;
        for (int j = 0; j < QK_LEGACY; ++j) max = x[j] > max ? x[j] : max;
    }
    *out_min = min;
    *out_max = max;
}

// quantize_row_q4_0_ref / quantize_row_q5_0_ref, one block: d = max/-2^(bits-1) for the max of
// largest magnitude, q = MIN(2^bits - 1, (int8_t)(x/d + 2^(bits-1) + 0.5)).
QUANTA_INLINE void q_0_ref_block(const float *restrict x, uint8_t *restrict y, const int bits) {
    const float max = first_abs_max_32(x);
    const float half = bits == 4 ? 8.f : 16.f;
    const int top = bits == 4 ? 15 : 31;
    const float d = max / -half;
    const float id = d ? 1.0f / d : 0.0f;
    store_f16(y, d);
    uint8_t q[QK_LEGACY];
    legacy_levels(x, 0.f, id, half + 0.5f, top, false, q);
    if (bits == 4) {
        for (int j = 0; j < 16; ++j) y[2 + j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    } else {
        pack_q5_legacy(y + 2, y + 6, q);
    }
}

// quantize_row_q4_1_ref / quantize_row_q5_1_ref, one block: d = (max - min)/(2^bits - 1), m = min,
// q = (uint8_t or int8_t)((x - min)/d + 0.5), MIN(15, ...) for Q4_1 only.
QUANTA_INLINE void q_1_ref_block(const float *restrict x, uint8_t *restrict y, const int bits) {
    float min, max;
    min_max_32(x, &min, &max);
    const float d = (max - min) / (float)((1 << bits) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    store_f16(y, d);
    store_f16(y + 2, min);
    uint8_t q[QK_LEGACY];
    legacy_levels(x, min, id, 0.5f, bits == 4 ? 15 : -1, true, q);
    if (bits == 4) {
        for (int j = 0; j < 16; ++j) y[4 + j] = (uint8_t)(q[j] | (q[j + 16] << 4));
    } else {
        pack_q5_legacy(y + 4, y + 8, q);
    }
}

// quantize_row_q4_0_impl / quantize_row_q5_0_impl, one block: make_qx_quants (nmax 8 / 16) with
// weights qw*sqrt(sigma2 + x^2), sigma2 the row's mean square.
static void q_0_impl_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw,
                           float sigma2, int bits) {
    float weight[QK_LEGACY];
    int8_t L[QK_LEGACY];
    for (int j = 0; j < QK_LEGACY; ++j) weight[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
    const float d = quanta_search_signed_scale(QK_LEGACY, bits == 4 ? 8 : 16, x, weight, L);
    store_f16(y, d);
    if (bits == 4) {
        for (int j = 0; j < 16; ++j) y[2 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    } else {
        uint8_t q[QK_LEGACY];
        for (int j = 0; j < QK_LEGACY; ++j) q[j] = (uint8_t)L[j];
        pack_q5_legacy(y + 2, y + 6, q);
    }
}

// quantize_row_q4_1_impl / quantize_row_q5_1_impl, one block: make_qkx3_quants (nmax 15 / 31).
static void q_1_impl_block(const float *restrict x, uint8_t *restrict y, const float *restrict qw,
                           float sigma2, int bits) {
    float weight[QK_LEGACY];
    uint8_t L[QK_LEGACY];
    for (int j = 0; j < QK_LEGACY; ++j) weight[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
    float min;
    const float d = quanta_search_scale_min(QK_LEGACY, bits == 4 ? 15 : 31, x, weight, L, &min, -0.9f, 0.05f, 36, false);
    store_f16(y, d);
    store_f16(y + 2, -min);
    if (bits == 4) {
        for (int j = 0; j < 16; ++j) y[4 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    } else {
        pack_q5_legacy(y + 4, y + 8, L);
    }
}

// MARK: - Entry points (quantize_<type> of ggml-quants.c)

// Rows are independent (every `_ref` walks its blocks in order, every `_impl` takes one row and the
// same n_per_row importance weights), so each entry quantizes row by row. Invalid shapes
// (n_per_row not a positive multiple of the block, negative nrows, NULL buffers) write nothing and
// return 0; ggml would assert.

typedef enum { KIND_Q2_K, KIND_Q3_K, KIND_Q4_K, KIND_Q5_K, KIND_Q6_K, KIND_Q4_0, KIND_Q4_1, KIND_Q5_0, KIND_Q5_1 } kind_t;

// Forced inline: every entry point passes a constant kind, so each gets its own loop with the
// block function (and, for the small legacy blocks, its constants) folded in.
QUANTA_INLINE size_t quantize_rows(const kind_t kind, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                                   const float *imatrix) {
    static const int block_elems[] = {QK_K, QK_K, QK_K, QK_K, QK_K, 32, 32, 32, 32};
    static const int block_bytes[] = {Q2K_BYTES, Q3K_BYTES, Q4K_BYTES, Q5K_BYTES, Q6K_BYTES,
                                      Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES};
    const int64_t qk = block_elems[kind];
    if (!src || !dst || nrows < 0 || n_per_row <= 0 || n_per_row % qk != 0) return 0;
    const int64_t nb = n_per_row / qk;
    const size_t row_bytes = (size_t)nb * (size_t)block_bytes[kind];
    uint8_t *out = dst;
    for (int64_t row = 0; row < nrows; ++row) {
        const float *x = src + row * n_per_row;
        uint8_t *y = out + (size_t)row * row_bytes;
        // The legacy `_impl` functions weigh by the whole row's mean square.
        const float sigma2 = (imatrix && kind >= KIND_Q4_0) ? sum_squares(x, n_per_row) / (float)n_per_row : 0.f;
        for (int64_t ib = 0; ib < nb; ++ib) {
            const float *xb = x + ib * qk;
            const float *qw = imatrix ? imatrix + ib * qk : NULL;
            uint8_t *yb = y + ib * block_bytes[kind];
            switch (kind) {
            case KIND_Q2_K: if (qw) q2_K_impl_block(xb, yb, qw); else q2_K_ref_block(xb, yb); break;
            case KIND_Q3_K: if (qw) q3_K_impl_block(xb, yb, qw); else q3_K_ref_block(xb, yb); break;
            case KIND_Q4_K: if (qw) k4_impl_block(xb, yb, qw, 15); else k4_ref_block(xb, yb, 15, -1.f, 20); break;
            case KIND_Q5_K: if (qw) k4_impl_block(xb, yb, qw, 31); else k4_ref_block(xb, yb, 31, -0.5f, 15); break;
            case KIND_Q6_K: q6_K_block(xb, yb, qw); break;
            case KIND_Q4_0: if (qw) q_0_impl_block(xb, yb, qw, sigma2, 4); else q_0_ref_block(xb, yb, 4); break;
            case KIND_Q5_0: if (qw) q_0_impl_block(xb, yb, qw, sigma2, 5); else q_0_ref_block(xb, yb, 5); break;
            case KIND_Q4_1: if (qw) q_1_impl_block(xb, yb, qw, sigma2, 4); else q_1_ref_block(xb, yb, 4); break;
            case KIND_Q5_1: if (qw) q_1_impl_block(xb, yb, qw, sigma2, 5); else q_1_ref_block(xb, yb, 5); break;
            }
        }
    }
    return (size_t)nrows * row_bytes;
}

size_t quanta_quantize_q2_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q2_K, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q3_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q3_K, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q4_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q4_K, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q5_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q5_K, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q6_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q6_K, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q4_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q4_0, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q4_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q4_1, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q5_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q5_0, src, dst, nrows, n_per_row, imatrix);
}
size_t quanta_quantize_q5_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix) {
    return quantize_rows(KIND_Q5_1, src, dst, nrows, n_per_row, imatrix);
}
