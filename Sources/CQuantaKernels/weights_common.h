// Shared by the stored-weight kernels (weights_decode.c, weights_unpack.c, weights_acts.c): the
// compilation settings every one of them relies on and the scalar helpers they have in common.
// Private to the CQuantaKernels target (not in include/): `#include "weights_common.h"` after
// the system headers (GCC's optimize pragma below applies to every function defined after it,
// immintrin.h's intrinsics included).
#pragma once
#include <stdint.h>
#include <string.h>

// The kernels reproduce ggml / gguf-py roundings one by one (a product, then a separate add or
// subtract of a min); FMA contraction would fuse the two and change results, so it is off for
// the whole including file.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define QUANTA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QUANTA_CLONES
#endif

// Helpers are forced inline so each target_clones variant gets its own copy: an out-of-line
// static function would be compiled once for the baseline target and called from every clone.
#if defined(__GNUC__)
#define QUANTA_INLINE static inline __attribute__((always_inline))
#else
#define QUANTA_INLINE static inline
#endif

#define QK_K 256

// MARK: - Scalar conversions

QUANTA_INLINE uint16_t load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);  // little-endian, as ggml stores it
    return v;
}

QUANTA_INLINE uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);  // little-endian, as ggml stores it
    return v;
}

QUANTA_INLINE float bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

QUANTA_INLINE uint32_t f32_to_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

// ggml_compute_fp32_to_bf16 (ggml-impl.h), which ggml-cpu's from_float for BF16 calls: NaN -> the
// top half with bit 6 set (quiet), otherwise round to nearest even on the top 16 bits (overflow
// carries into inf). No flushing of subnormals.
QUANTA_INLINE uint16_t f32_to_bf16_ggml(float f) {
    const uint32_t u = f32_to_bits(f);
    const uint32_t rounded = (u + (0x7fffu + ((u >> 16) & 1u))) >> 16;
    const uint32_t quiet = (u >> 16) | 64u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);   // a select, so loops vectorize
}

// IEEE half -> float, exact for every input, as numpy's float16 -> float32 cast: subnormals
// become normal floats, inf stays inf and NaN payloads are kept bit for bit (a signalling NaN
// is *not* quieted, unlike F16C's vcvtph2ps). Branch-free so the F16 loop vectorizes; the
// subnormal path goes through an int -> float conversion so no float operand is ever subnormal
// (the result does not depend on DAZ/FTZ).
QUANTA_INLINE float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t em = h & 0x7fffu;
    const uint32_t normal = (em << 13) + 0x38000000u;             // rebias 15 -> 127
    const uint32_t special = 0x7f800000u | ((em & 0x3ffu) << 13);  // inf / NaN, payload kept
    const uint32_t sub = f32_to_bits((float)(int32_t)em * 0x1p-24f);
    const uint32_t mag = em >= 0x7c00u ? special : (em >= 0x0400u ? normal : sub);
    return bits_to_f32(mag | sign);
}

// f32 -> f16 -> f32 rounding of a non-NaN magnitude (a = the bits of |x|, a <= 0x7f800000), as
// F16C's vcvtps2ph with imm 0 and ggml's software ggml_compute_fp32_to_fp16 both round: to
// nearest even, then the exact widening:
//   |x| >= 65520 (half-way past 65504) -> inf; f16 normal range -> mantissa rounded to 10 bits
//   (the carry may bump the exponent); below 2^-14 -> a multiple of 2^-24, rounded by the
//   add-0.5 trick (|x| + 0.5 lies in [0.5, 1), whose ulp is 2^-24; inputs that DAZ would flush
//   round to 0 anyway, and the result is 0 or normal, so FTZ/DAZ do not matter).
// The callers differ only in what a NaN becomes.
QUANTA_INLINE uint32_t f16_round_magnitude(uint32_t a) {
    const uint32_t normal = (a + 0x0fffu + ((a >> 13) & 1u)) & 0xffffe000u;
    const float ax = bits_to_f32(a);
    const float t = ax + 0.5f;
    const uint32_t sub = f32_to_bits(t - 0.5f);
    return a >= 0x477ff000u ? 0x7f800000u : (a >= 0x38800000u ? normal : sub);
}

// MARK: - Block fields

// kvalues_iq4nl of ggml-common.h (the non-linear 4-bit grid of IQ4_NL / IQ4_XS).
static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1,    13,   25,  38,  53,  69,  89,  113};

// The 5-bit values of block_q5_0 / block_q5_1 (before Q5_0's - 16): element j < 16 is the low
// nibble of qs[j], element j + 16 its high nibble; bit e of the u32 qh is the fifth bit of
// element e.
QUANTA_INLINE uint32_t q5_value_lo(const uint8_t *qs, uint32_t qh, int j) {
    return (qs[j] & 15u) | (((qh >> j) & 1u) << 4);
}

QUANTA_INLINE uint32_t q5_value_hi(const uint8_t *qs, uint32_t qh, int j) {
    return (qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4);
}

// The 16 6-bit scales of block_q3_K, minus 32: scale i has low nibble from byte i (i < 8) or the
// high nibble of byte i - 8, and its top two bits from byte 8 + i%4 at bit 2*(i/4).
QUANTA_INLINE void q3_K_scales(const uint8_t *restrict s, int *restrict out) {
    for (int i = 0; i < 16; i++) {
        const unsigned low = i < 8 ? (s[i] & 15u) : (unsigned)(s[i - 8] >> 4);
        const unsigned high = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3u;
        out[i] = (int)(low | (high << 4)) - 32;
    }
}

// The 8 6-bit (scale, min) pairs of block_q4_K / block_q5_K (ggml's get_scale_min_k4).
QUANTA_INLINE void k4_scale_min(const uint8_t *restrict s, int *restrict sc, int *restrict mn) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 15) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
}

// The 6-bit scale of sub-block ib < 8 of block_iq4_xs, minus 32:
// ((scales_l[ib/2] >> 4*(ib%2)) & 15) | (((scales_h >> 2ib) & 3) << 4), less 32.
QUANTA_INLINE int iq4_xs_scale(const uint8_t *restrict scales_l, unsigned scales_h, int ib) {
    return (int)(((scales_l[ib / 2] >> (4 * (ib % 2))) & 15u) | (((scales_h >> (2 * ib)) & 3u) << 4)) - 32;
}
