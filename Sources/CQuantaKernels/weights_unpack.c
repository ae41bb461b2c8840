// Unpacking stored ggml blocks into the int8 GEMM's weight form: an integer per weight, a float
// scale per scale-block and (for types with an additive term) a float min, such that
//     weight = scale * q + min
// holds as real numbers, with scale and min the very floats ggml's dot products multiply with
// (and that gguf-py's dequantizer forms before its last one or two roundings: for every type
// fl(fl(scale*q) + min), resp. fl(scale*q), *is* gguf-py's dequantized float). See
// cquantaweights.h. Per type:
//   Q4_0   bs 32, q = nibble - 8 in [-8, 7],            scale = d
//   Q4_1   bs 32, q = nibble in [0, 15],                scale = d,          min = m
//   Q5_0   bs 32, q = value - 16 in [-16, 15],          scale = d
//   Q5_1   bs 32, q = value in [0, 31],                 scale = d,          min = m
//   Q8_0   bs 32, q = the stored int8,                  scale = d
//   IQ4_NL bs 32, q = kvalues_iq4nl[nibble] in [-127, 113], scale = d
//   Q2_K   bs 16, q in [0, 3],                          scale = d*(sc&15),  min = -(dmin*(sc>>4))
//   Q3_K   bs 16, q in [-4, 3],                         scale = d*(sc6-32)
//   Q4_K   bs 32, q in [0, 15],                         scale = d*sc,       min = -(dmin*m)
//   Q5_K   bs 32, q in [0, 31],                         scale = d*sc,       min = -(dmin*m)
//   Q6_K   bs 16, q = value - 32 in [-32, 31],          scale = d*sc (int8 sc)
//   IQ4_XS bs 32, q = kvalues_iq4nl[nibble],            scale = d*(ls-32)
// (d, dmin, m are the block's f16 fields widened exactly; products are f32.)
#include "cquantaweights.h"
#include <stdint.h>
#include <string.h>

#include "weights_common.h"

// MARK: - 32-element blocks

QUANTA_INLINE void unpack_q4_0_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    *scale = f16_to_f32(load_u16(b));
    const uint8_t *restrict qs = b + 2;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 15) - 8);
        q[j + 16] = (int8_t)((qs[j] >> 4) - 8);
    }
}

QUANTA_CLONES
int quanta_unpack_q4_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_q4_0_block(b + i * 18, q + i * 32, scale + i);
    if (has_min) *has_min = 0;
    return 32;
}

QUANTA_INLINE void unpack_q4_1_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale,
                                     float *restrict min) {
    *scale = f16_to_f32(load_u16(b));
    if (min) *min = f16_to_f32(load_u16(b + 2));
    const uint8_t *restrict qs = b + 4;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(qs[j] & 15);
        q[j + 16] = (int8_t)(qs[j] >> 4);
    }
}

QUANTA_CLONES
int quanta_unpack_q4_1(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_q4_1_block(b + i * 20, q + i * 32, scale + i, min ? min + i : NULL);
    if (has_min) *has_min = 1;
    return 32;
}

QUANTA_INLINE void unpack_q5_0_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    *scale = f16_to_f32(load_u16(b));
    const uint32_t qh = load_u32(b + 2);
    const uint8_t *restrict qs = b + 6;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((int)q5_value_lo(qs, qh, j) - 16);
        q[j + 16] = (int8_t)((int)q5_value_hi(qs, qh, j) - 16);
    }
}

QUANTA_CLONES
int quanta_unpack_q5_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_q5_0_block(b + i * 22, q + i * 32, scale + i);
    if (has_min) *has_min = 0;
    return 32;
}

QUANTA_INLINE void unpack_q5_1_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale,
                                     float *restrict min) {
    *scale = f16_to_f32(load_u16(b));
    if (min) *min = f16_to_f32(load_u16(b + 2));
    const uint32_t qh = load_u32(b + 4);
    const uint8_t *restrict qs = b + 8;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)q5_value_lo(qs, qh, j);
        q[j + 16] = (int8_t)q5_value_hi(qs, qh, j);
    }
}

QUANTA_CLONES
int quanta_unpack_q5_1(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_q5_1_block(b + i * 24, q + i * 32, scale + i, min ? min + i : NULL);
    if (has_min) *has_min = 1;
    return 32;
}

QUANTA_INLINE void unpack_q8_0_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    *scale = f16_to_f32(load_u16(b));
    memcpy(q, b + 2, 32);
}

QUANTA_CLONES
int quanta_unpack_q8_0(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_q8_0_block(b + i * 34, q + i * 32, scale + i);
    if (has_min) *has_min = 0;
    return 32;
}

QUANTA_INLINE void unpack_iq4_nl_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    *scale = f16_to_f32(load_u16(b));
    const uint8_t *restrict qs = b + 2;
    for (int j = 0; j < 16; j++) {
        q[j] = kvalues_iq4nl[qs[j] & 15];
        q[j + 16] = kvalues_iq4nl[qs[j] >> 4];
    }
}

QUANTA_CLONES
int quanta_unpack_iq4_nl(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / 32);
    for (size_t i = 0; i < n; i++) unpack_iq4_nl_block(b + i * 18, q + i * 32, scale + i);
    if (has_min) *has_min = 0;
    return 32;
}

// MARK: - K-quants

// Q2_K (layout as in weights_decode.c): 16 sub-blocks of 16.
QUANTA_INLINE void unpack_q2_K_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale,
                                     float *restrict min) {
    const uint8_t *restrict sc = b;
    const uint8_t *restrict qs = b + 16;
    const float d = f16_to_f32(load_u16(b + 80));
    const float dmin = f16_to_f32(load_u16(b + 82));
    for (int s = 0; s < 16; s++) {
        scale[s] = d * (float)(sc[s] & 15);
        if (min) min[s] = -(dmin * (float)(sc[s] >> 4));
    }
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) q[h * 128 + j * 32 + l] = (int8_t)((qs[h * 32 + l] >> (2 * j)) & 3);
}

QUANTA_CLONES
int quanta_unpack_q2_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++)
        unpack_q2_K_block(b + i * 84, q + i * QK_K, scale + i * 16, min ? min + i * 16 : NULL);
    if (has_min) *has_min = 1;
    return 16;
}

QUANTA_INLINE void unpack_q3_K_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    const uint8_t *restrict hmask = b;
    const uint8_t *restrict qs = b + 32;
    const float d = f16_to_f32(load_u16(b + 108));
    int sc[16];
    q3_K_scales(b + 96, sc);
    for (int i = 0; i < 16; i++) scale[i] = d * (float)sc[i];
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++) {
            const int hbit = h * 4 + j;
            for (int l = 0; l < 32; l++) {
                const int v = (int)((qs[h * 32 + l] >> (2 * j)) & 3) - (int)((((hmask[l] >> hbit) & 1) ^ 1) << 2);
                q[h * 128 + j * 32 + l] = (int8_t)v;
            }
        }
}

QUANTA_CLONES
int quanta_unpack_q3_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++) unpack_q3_K_block(b + i * 110, q + i * QK_K, scale + i * 16);
    if (has_min) *has_min = 0;
    return 16;
}

// The 8 scales d*sc and mins -(dmin*m) of a block_q4_K / block_q5_K (min may be NULL).
QUANTA_INLINE void unpack_k4_scales(const uint8_t *restrict b, float *restrict scale, float *restrict min) {
    const float d = f16_to_f32(load_u16(b));
    const float dmin = f16_to_f32(load_u16(b + 2));
    int sc[8], mn[8];
    k4_scale_min(b + 4, sc, mn);
    for (int s = 0; s < 8; s++) {
        scale[s] = d * (float)sc[s];
        if (min) min[s] = -(dmin * (float)mn[s]);
    }
}

QUANTA_INLINE void unpack_q4_K_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale,
                                     float *restrict min) {
    unpack_k4_scales(b, scale, min);
    const uint8_t *restrict qs = b + 16;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)(qs[32 * c + l] & 15);
            q[64 * c + 32 + l] = (int8_t)(qs[32 * c + l] >> 4);
        }
}

QUANTA_CLONES
int quanta_unpack_q4_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++)
        unpack_q4_K_block(b + i * 144, q + i * QK_K, scale + i * 8, min ? min + i * 8 : NULL);
    if (has_min) *has_min = 1;
    return 32;
}

QUANTA_INLINE void unpack_q5_K_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale,
                                     float *restrict min) {
    unpack_k4_scales(b, scale, min);
    const uint8_t *restrict qh = b + 16;
    const uint8_t *restrict qs = b + 48;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)((qs[32 * c + l] & 15) | (((qh[l] >> (2 * c)) & 1) << 4));
            q[64 * c + 32 + l] = (int8_t)((qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4));
        }
}

QUANTA_CLONES
int quanta_unpack_q5_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++)
        unpack_q5_K_block(b + i * 176, q + i * QK_K, scale + i * 8, min ? min + i * 8 : NULL);
    if (has_min) *has_min = 1;
    return 32;
}

QUANTA_INLINE void unpack_q6_K_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    const uint8_t *restrict ql = b;
    const uint8_t *restrict qh = b + 128;
    const int8_t *restrict sc = (const int8_t *)(b + 192);
    const float d = f16_to_f32(load_u16(b + 208));
    for (int s = 0; s < 16; s++) scale[s] = d * (float)sc[s];
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t a = ql[64 * h + l], c = ql[64 * h + 32 + l], hh = qh[32 * h + l];
            q[128 * h + l] = (int8_t)((int)((a & 15) | ((hh & 3) << 4)) - 32);
            q[128 * h + 32 + l] = (int8_t)((int)((c & 15) | (((hh >> 2) & 3) << 4)) - 32);
            q[128 * h + 64 + l] = (int8_t)((int)((a >> 4) | (((hh >> 4) & 3) << 4)) - 32);
            q[128 * h + 96 + l] = (int8_t)((int)((c >> 4) | (((hh >> 6) & 3) << 4)) - 32);
        }
}

QUANTA_CLONES
int quanta_unpack_q6_K(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++) unpack_q6_K_block(b + i * 210, q + i * QK_K, scale + i * 16);
    if (has_min) *has_min = 0;
    return 16;
}

QUANTA_INLINE void unpack_iq4_xs_block(const uint8_t *restrict b, int8_t *restrict q, float *restrict scale) {
    const float d = f16_to_f32(load_u16(b));
    const unsigned scales_h = load_u16(b + 2);
    const uint8_t *restrict scales_l = b + 4;
    const uint8_t *restrict qs = b + 8;
    for (int ib = 0; ib < 8; ib++) {
        scale[ib] = d * (float)iq4_xs_scale(scales_l, scales_h, ib);
    }
    for (int ib = 0; ib < 8; ib++)
        for (int l = 0; l < 16; l++) {
            q[32 * ib + l] = kvalues_iq4nl[qs[16 * ib + l] & 15];
            q[32 * ib + 16 + l] = kvalues_iq4nl[qs[16 * ib + l] >> 4];
        }
}

QUANTA_CLONES
int quanta_unpack_iq4_xs(const void *blocks, size_t nrows, size_t k, int8_t *q, float *scale, float *min, int *has_min) {
    (void)min;
    const uint8_t *b = (const uint8_t *)blocks;
    const size_t n = nrows * (k / QK_K);
    for (size_t i = 0; i < n; i++) unpack_iq4_xs_block(b + i * 136, q + i * QK_K, scale + i * 8);
    if (has_min) *has_min = 0;
    return 32;
}
