// quanta_quantize_acts: the activation quantizers of ggml-cpu's x86 build (the `from_float` of
// each weight type's vec_dot_type), reproduced value for value, including the odd corners
// (NaN, inf, activations so small that 127/amax overflows). See cquantaweights.h.
//
// Q8_0 / Q8_1 (ggml-cpu/arch/x86/quants.c quantize_row_q8_0 / quantize_row_q8_1, the
// `__AVX2__ || __AVX__` path, which an AVX2 or AVX-512 -march=native build takes; there is no
// separate AVX-512 path), per block of 32:
//   amax = _mm256_max_ps / _mm_max_ps reduction of |x| (tree below; maxps returns its second
//          operand when either is NaN, which decides how a NaN propagates),
//   d    = amax / 127.f, stored as f16 by GGML_CPU_FP32_TO_FP16, which on x86 is *not* F16C:
//          ggml-cpu/simd-mappings.h maps it to ggml-impl.h's software ggml_compute_fp32_to_fp16
//          (round to nearest even for every non-NaN input, like vcvtps2ph, but every NaN becomes
//          the canonical ±0x7e00, payload dropped),
//   id   = amax != 0 ? 127.f / amax : 0   (from the f32 amax, not from 1/d and not from the f16 d),
//   q    = cvtps_epi32(round_ps(x * id, nearest-even)), packed to int8 with signed saturation
//          (cvtps_epi32 gives INT32_MIN for NaN / out-of-range, which saturates to -128),
//   Q8_1 also stores s = f16(d * Σq) with the *f32* d (see the note at QUANTA_ACT_Q8_1 below).
// The dot product reads d back through ggml_table_f32_f16 (exact f16 -> f32).
//
// Q8_K (ggml-cpu/arch/x86/quants.c quantize_row_q8_K simply calls ggml-quants.c
// quantize_row_q8_K_ref, compiled into libggml-base without -march flags, so plain SSE2, no FMA),
// per block of 256:
//   max  = the first x of largest |x| (strict >, NaN never wins); amax == 0 -> d = 0, q = 0,
//   iscale = -127.f / max,
//   q    = MIN(127, nearest_int(iscale * x)) stored to int8, with nearest_int(f) =
//          (bits(f + 12582912.f) & 0x7fffff) - 0x400000 (round half to even for |f| < 2^22),
//   d    = 1 / iscale (f32).
#include "cquantaweights.h"
#include <stdint.h>
#include <string.h>

#include "weights_common.h"

// f32 -> f16 -> f32 as ggml's software ggml_compute_fp32_to_fp16 then an exact widening: round to
// nearest even (f16_round_magnitude, as round_to_f16 in weights_decode.c), inf past 65520, and
// NaN -> the canonical quiet NaN 0x7e00 with the input's sign (-> f32 0x7fc00000 | sign).
QUANTA_INLINE float round_to_f16_ggml(float x) {
    const uint32_t u = f32_to_bits(x);
    const uint32_t sign = u & 0x80000000u;
    const uint32_t a = u & 0x7fffffffu;
    const uint32_t mag = a > 0x7f800000u ? 0x7fc00000u : f16_round_magnitude(a);
    return bits_to_f32(mag | sign);
}

// maxps / maxss semantics: a > b ? a : b (the second operand when unordered).
QUANTA_INLINE float maxps(float a, float b) { return a > b ? a : b; }

QUANTA_INLINE float absf(float x) { return bits_to_f32(f32_to_bits(x) & 0x7fffffffu); }

// round_ps(v, nearest) -> cvtps_epi32 -> packs_epi32 -> packs_epi16, for v = x * id with
// |x| <= amax: |v| is then at most 127 (+ an ulp), or v is ±inf / NaN (id = inf or x NaN), and
// those become INT32_MIN -> -128. Round half to even by the 1.5*2^23 trick, exact for |v| < 2^22.
QUANTA_INLINE int8_t q8_round_saturate(float v) {
    const float av = absf(v);
    float r = (v + 12582912.0f) - 12582912.0f;
    r = r > 127.0f ? 127.0f : (r < -128.0f ? -128.0f : r);
    return av <= 4194304.0f ? (int8_t)(int)r : (int8_t)-128;
}

// One Q8_0 / Q8_1 block of 32: the AVX reduction tree of quantize_row_q8_0 reproduced lane for
// lane. Writes the int8 values, returns the f32 d (before f16 rounding).
QUANTA_INLINE float quantize_q8_0_block(const float *restrict x, int8_t *restrict q) {
    float lane[8];
    for (int j = 0; j < 8; j++) {
        float m = absf(x[j]);
        m = maxps(m, absf(x[8 + j]));
        m = maxps(m, absf(x[16 + j]));
        m = maxps(m, absf(x[24 + j]));
        lane[j] = m;
    }
    float m4[4];
    for (int j = 0; j < 4; j++) m4[j] = maxps(lane[4 + j], lane[j]);  // max(hi128, lo128)
    const float t0 = maxps(m4[0], m4[2]);                              // max(v, movehl(v))
    const float t1 = maxps(m4[1], m4[3]);
    const float amax = maxps(t0, t1);                                  // max_ss(v, movehdup(v))
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < 32; j++) q[j] = q8_round_saturate(x[j] * id);
    return d;
}

// ggml-quants.c nearest_int, bit for bit (also for the NaN / huge inputs it is not meant for).
QUANTA_INLINE int nearest_int(float f) {
    const float val = f + 12582912.0f;
    return (int)(f32_to_bits(val) & 0x007fffffu) - 0x00400000;
}

// One Q8_K block of 256 (quantize_row_q8_K_ref). Writes the int8 values, returns d.
QUANTA_INLINE float quantize_q8_K_block(const float *restrict x, int8_t *restrict q) {
    // ggml's sequential scan (`if (ax > amax) { amax = ax; max = x[j]; }` from amax = 0) ends
    // with amax = the largest non-NaN |x| and max = the first x of that magnitude. Found here in
    // two vectorizable passes: 16 running maxima (NaN never replaces), then the first match.
    float lanes[16];
    for (int j = 0; j < 16; j++) lanes[j] = 0.0f;
    for (int i = 0; i < 256; i += 16)
        for (int j = 0; j < 16; j++) {
            const float ax = absf(x[i + j]);
            lanes[j] = ax > lanes[j] ? ax : lanes[j];
        }
    float amax = 0.0f;
    for (int j = 0; j < 16; j++) amax = lanes[j] > amax ? lanes[j] : amax;
    float max = 0.0f;
    for (int j = 0; j < 256; j++)
        if (absf(x[j]) == amax) {
            max = x[j];
            break;
        }
    if (amax == 0.0f) {
        for (int j = 0; j < 256; j++) q[j] = 0;
        return 0.0f;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; j++) {
        const int v = nearest_int(iscale * x[j]);
        q[j] = (int8_t)(uint8_t)(unsigned)(v < 127 ? v : 127);  // int -> int8_t as C's truncation
    }
    return 1.0f / iscale;
}

QUANTA_CLONES
void quanta_quantize_acts(const float *x, size_t rows, size_t k, size_t ldx, quanta_act_kind kind, int bs,
                          int8_t *q, float *d, int32_t *sum) {
    const size_t block = kind == QUANTA_ACT_Q8_K ? 256 : 32;
    const size_t sub = (size_t)bs;
    const size_t per_block = block / sub;
    const size_t nsub = k / sub;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        int8_t *qr = q + r * k;
        float *dr = d + r * nsub;
        int32_t *sr = sum + r * nsub;
        for (size_t b = 0; b < k / block; b++) {
            int8_t *qb = qr + b * block;
            float scale;
            if (kind == QUANTA_ACT_Q8_K) {
                scale = quantize_q8_K_block(xr + b * block, qb);
            } else {
                // Q8_0 and Q8_1 quantize identically; the dot product reads d back from f16.
                // (QUANTA_ACT_Q8_1: ggml's vec_dot_q4_1_q8_1 / q5_1 take the min term from the
                // stored s = f16(d_f32 * Σq) rather than from f16(d) * Σq; this form carries Σq.)
                scale = round_to_f16_ggml(quantize_q8_0_block(xr + b * block, qb));
            }
            for (size_t s = 0; s < per_block; s++) {
                const int8_t *qs = qb + s * sub;
                int32_t total = 0;
                for (size_t i = 0; i < sub; i++) total += qs[i];
                dr[b * per_block + s] = scale;
                sr[b * per_block + s] = total;
            }
        }
    }
}
