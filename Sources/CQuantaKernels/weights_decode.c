// Tile decoders (stored ggml blocks -> f32) and the f16/bf16 rounding of activations; see
// cquantaweights.h for the contract.
//
// Every decoder computes exactly the float operations of gguf-py 0.19.0's `dequantize_blocks`
// for the type, in the same order and in f32 (so the output is bit-identical with
// `gguf.quants.dequantize`): per-block scales are converted from f16 exactly, products of a
// scale and a small integer are formed first, then (for types with a min) the min is added or
// subtracted in a separate rounding. FMA contraction would fuse those two roundings into one and
// change results, so it is turned off for the whole file.
//
// Speed: a block is decoded by a forced-inline helper (so every target_clones variant gets its own
// copy) whose pointers are `restrict` (uint8_t may alias float; without it every store to dst
// would force a reload of the bytes). The 32-element legacy types are plain loops that clang
// vectorizes (across blocks, 16 at a time on AVX-512); the K-quants use 16-lane GNU vector
// extensions per run of 16 weights sharing a scale (clang otherwise unrolls the constant-trip
// loops first and vectorizes them narrowly); IQ4_NL / IQ4_XS look their grid up with pshufb in
// AVX-512 / AVX2 functions picked by __builtin_cpu_supports, with a portable fallback.
#include "cquantaweights.h"
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define QUANTA_X86_DISPATCH 1
#endif

#include "weights_common.h"

// MARK: - 16-lane helpers (GNU vector extensions, lowered per target_clones variant: one zmm for
// x86-64-v4, two ymm for v3, four xmm for the baseline). Same IEEE f32 operations as the scalar
// formulas; used where clang would otherwise fully unroll the constant-trip loops of a super-block
// before vectorizing them and end up with narrow SLP code.

typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef int8_t i8x16 __attribute__((vector_size(16)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef float f32x16 __attribute__((vector_size(64)));

QUANTA_INLINE u8x16 load16(const uint8_t *p) {
    u8x16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

// out[0..15] = fl(fl(scale * v) - min) for unsigned byte values v.
QUANTA_INLINE void emit16_min(float *out, u8x16 v, float scale, float min) {
    const f32x16 f = __builtin_convertvector(__builtin_convertvector(v, i32x16), f32x16);
    const f32x16 p = scale * f;
    const f32x16 y = p - min;
    memcpy(out, &y, sizeof y);
}

// out[0..15] = fl(scale * v) for signed byte values v.
QUANTA_INLINE void emit16(float *out, i8x16 v, float scale) {
    const f32x16 f = __builtin_convertvector(__builtin_convertvector(v, i32x16), f32x16);
    const f32x16 y = scale * f;
    memcpy(out, &y, sizeof y);
}

// MARK: - F16 / BF16

QUANTA_CLONES
void quanta_decode_f16(const void *src, float *dst, size_t n) {
    const uint16_t *restrict h = (const uint16_t *)src;
    float *restrict y = dst;
    for (size_t i = 0; i < n; i++) y[i] = f16_to_f32(h[i]);
}

QUANTA_CLONES
void quanta_decode_bf16(const void *src, float *dst, size_t n) {
    const uint16_t *restrict h = (const uint16_t *)src;
    uint32_t *restrict y = (uint32_t *)(void *)dst;
    for (size_t i = 0; i < n; i++) y[i] = (uint32_t)h[i] << 16;
}

// MARK: - Legacy 32-element blocks

// block_q4_0: f16 d, 16 bytes of nibbles; element j < 16 is the low nibble of byte j, element
// j + 16 its high nibble. y = d * (nibble - 8).
QUANTA_INLINE void decode_q4_0_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const uint8_t *restrict qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)((int)(qs[j] & 15) - 8);
        y[j + 16] = d * (float)((int)(qs[j] >> 4) - 8);
    }
}

QUANTA_CLONES
void quanta_decode_q4_0(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q4_0_block(b + i * 18, dst + i * 32);
}

// block_q4_1: f16 d, f16 m, 16 bytes of nibbles. y = (d * nibble) + m.
QUANTA_INLINE void decode_q4_1_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const float m = f16_to_f32(load_u16(b + 2));
    const uint8_t *restrict qs = b + 4;
    for (int j = 0; j < 16; j++) {
        const float lo = d * (float)(qs[j] & 15);
        const float hi = d * (float)(qs[j] >> 4);
        y[j] = lo + m;
        y[j + 16] = hi + m;
    }
}

QUANTA_CLONES
void quanta_decode_q4_1(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q4_1_block(b + i * 20, dst + i * 32);
}

// block_q5_0: f16 d, u32 qh (bit j = fifth bit of element j), 16 bytes of nibbles.
// y = d * (value - 16).
QUANTA_INLINE void decode_q5_0_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const uint32_t qh = load_u32(b + 2);
    const uint8_t *restrict qs = b + 6;
    for (int j = 0; j < 16; j++) {
        const int lo = (int)q5_value_lo(qs, qh, j) - 16;
        const int hi = (int)q5_value_hi(qs, qh, j) - 16;
        y[j] = d * (float)lo;
        y[j + 16] = d * (float)hi;
    }
}

QUANTA_CLONES
void quanta_decode_q5_0(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q5_0_block(b + i * 22, dst + i * 32);
}

// block_q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles. y = (d * value) + m.
QUANTA_INLINE void decode_q5_1_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const float m = f16_to_f32(load_u16(b + 2));
    const uint32_t qh = load_u32(b + 4);
    const uint8_t *restrict qs = b + 8;
    for (int j = 0; j < 16; j++) {
        const float plo = d * (float)(int)q5_value_lo(qs, qh, j);
        const float phi = d * (float)(int)q5_value_hi(qs, qh, j);
        y[j] = plo + m;
        y[j + 16] = phi + m;
    }
}

QUANTA_CLONES
void quanta_decode_q5_1(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q5_1_block(b + i * 24, dst + i * 32);
}

// block_q8_0: f16 d, 32 int8. y = q * d.
QUANTA_INLINE void decode_q8_0_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const int8_t *restrict qs = (const int8_t *)(b + 2);
    for (int j = 0; j < 32; j++) y[j] = (float)qs[j] * d;
}

QUANTA_CLONES
void quanta_decode_q8_0(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q8_0_block(b + i * 34, dst + i * 32);
}

// block_iq4_nl: f16 d, 16 bytes of nibbles indexing kvalues_iq4nl (Q4_0's layout).
// y = d * kvalues[nibble]. The 16 products d*kvalues[i] are formed once per block; picking one
// is the same float as multiplying after the lookup.
QUANTA_INLINE void decode_iq4_nl_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const uint8_t *restrict qs = b + 2;
    float table[16];
    for (int i = 0; i < 16; i++) table[i] = d * (float)kvalues_iq4nl[i];
    for (int j = 0; j < 16; j++) {
        y[j] = table[qs[j] & 15];
        y[j + 16] = table[qs[j] >> 4];
    }
}

static void decode_iq4_nl_generic(const uint8_t *b, float *dst, size_t nblocks) {
    for (size_t i = 0; i < nblocks; i++) decode_iq4_nl_block(b + i * 18, dst + i * 32);
}

#if QUANTA_X86_DISPATCH
// The IQ4 grids are a 16-entry byte table: one pshufb maps 16 nibbles to their int8 values (the
// auto-vectorized table lookup above becomes gathers). The rest is d * (float)value as in the
// generic code, in the widest registers the CPU has; chosen by __builtin_cpu_supports at each call.
#define QUANTA_TARGET_V4 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi2,popcnt")))
#define QUANTA_TARGET_V3 __attribute__((target("avx2,bmi2,popcnt")))

// 16 int8 values -> 16 floats scaled by d, stored to out.
QUANTA_TARGET_V4 static inline void scale16_v4(float *out, __m128i v, float d) {
    const __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v));
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_set1_ps(d), f));
}

QUANTA_TARGET_V3 static inline void scale16_v3(float *out, __m128i v, float d) {
    const __m256 vd = _mm256_set1_ps(d);
    const __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
    const __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)));
    _mm256_storeu_ps(out, _mm256_mul_ps(vd, f0));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(vd, f1));
}

#define QUANTA_IQ4_NL_BODY(SCALE16)                                                         \
    const __m128i table = _mm_loadu_si128((const __m128i *)(const void *)kvalues_iq4nl);    \
    const __m128i mask = _mm_set1_epi8(15);                                                 \
    for (size_t i = 0; i < nblocks; i++) {                                                  \
        const uint8_t *blk = b + i * 18;                                                    \
        const float d = f16_to_f32(load_u16(blk));                                          \
        const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(blk + 2));        \
        const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(q, mask));                 \
        const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), mask)); \
        SCALE16(dst + i * 32, lo, d);                                                       \
        SCALE16(dst + i * 32 + 16, hi, d);                                                  \
    }

QUANTA_TARGET_V4 static void decode_iq4_nl_v4(const uint8_t *b, float *dst, size_t nblocks) {
    QUANTA_IQ4_NL_BODY(scale16_v4)
}

QUANTA_TARGET_V3 static void decode_iq4_nl_v3(const uint8_t *b, float *dst, size_t nblocks) {
    QUANTA_IQ4_NL_BODY(scale16_v3)
}

#define QUANTA_IQ4_XS_BODY(SCALE16)                                                         \
    const __m128i table = _mm_loadu_si128((const __m128i *)(const void *)kvalues_iq4nl);    \
    const __m128i mask = _mm_set1_epi8(15);                                                 \
    for (size_t i = 0; i < nblocks; i++) {                                                  \
        const uint8_t *blk = b + i * 136;                                                   \
        const float d = f16_to_f32(load_u16(blk));                                          \
        const unsigned scales_h = load_u16(blk + 2);                                        \
        for (int ib = 0; ib < 8; ib++) {                                                    \
            const float dl = d * (float)iq4_xs_scale(blk + 4, scales_h, ib);                \
            const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(blk + 8 + 16 * ib)); \
            const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(q, mask));             \
            const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), mask)); \
            SCALE16(dst + i * 256 + 32 * ib, lo, dl);                                       \
            SCALE16(dst + i * 256 + 32 * ib + 16, hi, dl);                                  \
        }                                                                                   \
    }

QUANTA_TARGET_V4 static void decode_iq4_xs_v4(const uint8_t *b, float *dst, size_t nblocks) {
    QUANTA_IQ4_XS_BODY(scale16_v4)
}

QUANTA_TARGET_V3 static void decode_iq4_xs_v3(const uint8_t *b, float *dst, size_t nblocks) {
    QUANTA_IQ4_XS_BODY(scale16_v3)
}

static int quanta_cpu_level(void) {  // 2: x86-64-v4 (AVX-512 BW/DQ/VL), 1: AVX2, 0: baseline
#ifdef QUANTA_TEST_CPU_LEVEL  // the check script builds variants pinned to each path
    return QUANTA_TEST_CPU_LEVEL;
#endif
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#endif

void quanta_decode_iq4_nl(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
#if QUANTA_X86_DISPATCH
    const int level = quanta_cpu_level();
    if (level == 2)
        decode_iq4_nl_v4(b, dst, nblocks);
    else if (level == 1)
        decode_iq4_nl_v3(b, dst, nblocks);
    else
#endif
        decode_iq4_nl_generic(b, dst, nblocks);
}

// MARK: - K-quants (256-element super-blocks)

// block_q2_K: scales[16] (low nibble: scale, high nibble: min, per 16 elements), qs[64] (2-bit),
// f16 d, f16 dmin. Element h*128 + j*32 + l (h < 2, j < 4, l < 32) is bits 2j..2j+1 of
// qs[h*32 + l]; its sub-block is element/16. dl = d*sc, ml = dmin*m, y = (dl*q) - ml.
QUANTA_INLINE void decode_q2_K_block(const uint8_t *restrict b, float *restrict y) {
    const uint8_t *restrict sc = b;
    const uint8_t *restrict qs = b + 16;
    const float d = f16_to_f32(load_u16(b + 80));
    const float dmin = f16_to_f32(load_u16(b + 82));
    for (int h = 0; h < 2; h++) {
        const u8x16 q0 = load16(qs + h * 32), q1 = load16(qs + h * 32 + 16);
        for (int j = 0; j < 4; j++) {
            const int sb = h * 8 + j * 2;
            float *out = y + h * 128 + j * 32;
            emit16_min(out, (q0 >> (2 * j)) & 3, d * (float)(sc[sb] & 15), dmin * (float)(sc[sb] >> 4));
            emit16_min(out + 16, (q1 >> (2 * j)) & 3, d * (float)(sc[sb + 1] & 15), dmin * (float)(sc[sb + 1] >> 4));
        }
    }
}

QUANTA_CLONES
void quanta_decode_q2_K(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q2_K_block(b + i * 84, dst + i * QK_K);
}

// block_q3_K: hmask[32], qs[64] (2-bit, Q2_K's layout), scales[12], f16 d. Element
// e = h*128 + j*32 + l: low bits (qs[h*32+l] >> 2j) & 3, minus 4 when bit e/32 of hmask[l] is
// clear. dl = d*(scale - 32), y = dl * q.
QUANTA_INLINE void decode_q3_K_block(const uint8_t *restrict b, float *restrict y) {
    const uint8_t *restrict hmask = b;
    const uint8_t *restrict qs = b + 32;
    const float d = f16_to_f32(load_u16(b + 108));
    int scales[16];
    q3_K_scales(b + 96, scales);
    const u8x16 hm0 = load16(hmask), hm1 = load16(hmask + 16);
    for (int h = 0; h < 2; h++) {
        const u8x16 q0 = load16(qs + h * 32), q1 = load16(qs + h * 32 + 16);
        for (int j = 0; j < 4; j++) {
            const int shift = 2 * j, hbit = h * 4 + j, sb = h * 8 + j * 2;
            // low two bits, minus 4 where the hmask bit is clear
            const i8x16 v0 = (i8x16)((q0 >> shift) & 3) - (i8x16)((((hm0 >> hbit) & 1) ^ 1) << 2);
            const i8x16 v1 = (i8x16)((q1 >> shift) & 3) - (i8x16)((((hm1 >> hbit) & 1) ^ 1) << 2);
            float *out = y + h * 128 + j * 32;
            emit16(out, v0, d * (float)scales[sb]);
            emit16(out + 16, v1, d * (float)scales[sb + 1]);
        }
    }
}

QUANTA_CLONES
void quanta_decode_q3_K(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q3_K_block(b + i * 110, dst + i * QK_K);
}

// block_q4_K: f16 d, f16 dmin, scales[12], qs[128]. Chunk c < 4 of 64 elements: the low nibbles
// of qs[32c..32c+31] (sub-block 2c), then their high nibbles (sub-block 2c+1).
// d1 = d*sc, m1 = dmin*m, y = (d1*q) - m1.
QUANTA_INLINE void decode_q4_K_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const float dmin = f16_to_f32(load_u16(b + 2));
    int sc[8], mn[8];
    k4_scale_min(b + 4, sc, mn);
    const uint8_t *restrict qs = b + 16;
    for (int c = 0; c < 4; c++) {
        const float d1 = d * (float)sc[2 * c], m1 = dmin * (float)mn[2 * c];
        const float d2 = d * (float)sc[2 * c + 1], m2 = dmin * (float)mn[2 * c + 1];
        const u8x16 q0 = load16(qs + 32 * c), q1 = load16(qs + 32 * c + 16);
        float *out = y + 64 * c;
        emit16_min(out, q0 & 15, d1, m1);
        emit16_min(out + 16, q1 & 15, d1, m1);
        emit16_min(out + 32, q0 >> 4, d2, m2);
        emit16_min(out + 48, q1 >> 4, d2, m2);
    }
}

QUANTA_CLONES
void quanta_decode_q4_K(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q4_K_block(b + i * 144, dst + i * QK_K);
}

// block_q5_K: f16 d, f16 dmin, scales[12], qh[32], qs[128]. Q4_K's layout, plus the fifth bit of
// element 32*s + l (s < 8 the sub-block) is bit s of qh[l].
QUANTA_INLINE void decode_q5_K_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const float dmin = f16_to_f32(load_u16(b + 2));
    int sc[8], mn[8];
    k4_scale_min(b + 4, sc, mn);
    const u8x16 qh0 = load16(b + 16), qh1 = load16(b + 32);
    const uint8_t *restrict qs = b + 48;
    for (int c = 0; c < 4; c++) {
        const float d1 = d * (float)sc[2 * c], m1 = dmin * (float)mn[2 * c];
        const float d2 = d * (float)sc[2 * c + 1], m2 = dmin * (float)mn[2 * c + 1];
        const u8x16 q0 = load16(qs + 32 * c), q1 = load16(qs + 32 * c + 16);
        const int b1 = 2 * c, b2 = 2 * c + 1;
        float *out = y + 64 * c;
        emit16_min(out, (q0 & 15) | (((qh0 >> b1) & 1) << 4), d1, m1);
        emit16_min(out + 16, (q1 & 15) | (((qh1 >> b1) & 1) << 4), d1, m1);
        emit16_min(out + 32, (q0 >> 4) | (((qh0 >> b2) & 1) << 4), d2, m2);
        emit16_min(out + 48, (q1 >> 4) | (((qh1 >> b2) & 1) << 4), d2, m2);
    }
}

QUANTA_CLONES
void quanta_decode_q5_K(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q5_K_block(b + i * 176, dst + i * QK_K);
}

// block_q6_K: ql[128], qh[64], int8 scales[16], f16 d. In half h (128 elements), element
// h*128 + r takes nibble r/64 of ql[h*64 + r%64] and bits 2*(r/32).. of qh[h*32 + r%32];
// q = value - 32, sub-block element/16. y = (d*scale) * q.
QUANTA_INLINE void decode_q6_K_block(const uint8_t *restrict b, float *restrict y) {
    const uint8_t *restrict ql = b;
    const uint8_t *restrict qh = b + 128;
    const int8_t *restrict sc = (const int8_t *)(b + 192);
    const float d = f16_to_f32(load_u16(b + 208));
    for (int h = 0; h < 2; h++) {
        const uint8_t *restrict l0 = ql + 64 * h;
        const u8x16 hq[2] = {load16(qh + 32 * h), load16(qh + 32 * h + 16)};
        float *restrict out = y + 128 * h;
        for (int part = 0; part < 4; part++) {
            // part 0: low nibbles of l0[0..31]; 1: low nibbles of l0[32..63];
            // 2: high nibbles of l0[0..31]; 3: high nibbles of l0[32..63].
            const uint8_t *restrict lq = l0 + 32 * (part & 1);
            const int nshift = 4 * (part >> 1);
            const int hshift = 2 * part;
            for (int half = 0; half < 2; half++) {
                const u8x16 lo = load16(lq + 16 * half);
                const u8x16 v = ((lo >> nshift) & 15) | (((hq[half] >> hshift) & 3) << 4);
                emit16(out + 32 * part + 16 * half, (i8x16)v - 32, d * (float)sc[h * 8 + part * 2 + half]);
            }
        }
    }
}

QUANTA_CLONES
void quanta_decode_q6_K(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
    for (size_t i = 0; i < nblocks; i++) decode_q6_K_block(b + i * 210, dst + i * QK_K);
}

// block_iq4_xs: f16 d, u16 scales_h, scales_l[4], qs[128]. Sub-block ib < 8 has the 6-bit scale
// ((scales_l[ib/2] >> 4*(ib%2)) & 15) | (((scales_h >> 2ib) & 3) << 4); its 32 elements are the
// low then high nibbles of qs[16ib .. 16ib+15], each indexing kvalues_iq4nl.
// dl = d*(ls - 32), y = dl * kvalues[nibble].
QUANTA_INLINE void decode_iq4_xs_block(const uint8_t *restrict b, float *restrict y) {
    const float d = f16_to_f32(load_u16(b));
    const unsigned scales_h = load_u16(b + 2);
    const uint8_t *restrict scales_l = b + 4;
    const uint8_t *restrict qs = b + 8;
    for (int ib = 0; ib < 8; ib++) {
        const float dl = d * (float)iq4_xs_scale(scales_l, scales_h, ib);
        float table[16];
        for (int i = 0; i < 16; i++) table[i] = dl * (float)kvalues_iq4nl[i];
        const uint8_t *restrict q = qs + 16 * ib;
        float *restrict out = y + 32 * ib;
        for (int l = 0; l < 16; l++) {
            out[l] = table[q[l] & 15];
            out[l + 16] = table[q[l] >> 4];
        }
    }
}

static void decode_iq4_xs_generic(const uint8_t *b, float *dst, size_t nblocks) {
    for (size_t i = 0; i < nblocks; i++) decode_iq4_xs_block(b + i * 136, dst + i * QK_K);
}

void quanta_decode_iq4_xs(const void *blocks, float *dst, size_t nblocks) {
    const uint8_t *b = (const uint8_t *)blocks;
#if QUANTA_X86_DISPATCH
    const int level = quanta_cpu_level();
    if (level == 2)
        decode_iq4_xs_v4(b, dst, nblocks);
    else if (level == 1)
        decode_iq4_xs_v3(b, dst, nblocks);
    else
#endif
        decode_iq4_xs_generic(b, dst, nblocks);
}

// MARK: - Activation rounding

// f32 -> f16 -> f32 as F16C's vcvtps2ph with imm 0 (round to nearest even; what ggml-cpu's
// ggml_cpu_fp32_to_fp16 uses on x86) followed by the exact widening: f16_round_magnitude for
// every non-NaN input (inf past 65520, subnormals by the add-0.5 trick, FTZ/DAZ do not matter);
// NaN -> quiet NaN keeping the top 9 payload bits (vcvtps2ph quiets, then truncates the payload).
QUANTA_INLINE float round_to_f16(float x) {
    const uint32_t u = f32_to_bits(x);
    const uint32_t sign = u & 0x80000000u;
    const uint32_t a = u & 0x7fffffffu;
    const uint32_t nan = 0x7f800000u | ((a | 0x00400000u) & 0x007fe000u);
    const uint32_t mag = a > 0x7f800000u ? nan : f16_round_magnitude(a);
    return bits_to_f32(mag | sign);
}

QUANTA_CLONES
void quanta_round_f16(const float *x, float *y, size_t n) {
    const float *restrict in = x;
    float *restrict out = y;
    for (size_t i = 0; i < n; i++) out[i] = round_to_f16(in[i]);
}

// The values ggml's BF16 dot product sees: f32_to_bf16_ggml (weights_common.h), widened back by a
// 16-bit shift.
QUANTA_CLONES
void quanta_round_bf16(const float *x, float *y, size_t n) {
    const float *restrict in = x;
    uint32_t *restrict out = (uint32_t *)(void *)y;
    for (size_t i = 0; i < n; i++) out[i] = (uint32_t)f32_to_bf16_ggml(in[i]) << 16;
}
