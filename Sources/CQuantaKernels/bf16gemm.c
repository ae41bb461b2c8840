// BF16 GEMM (cquantaweights.h, "BF16 GEMM"): bf16 weight rows, read from the memory map, against
// activations rounded to bf16 as ggml's CPU backend rounds them (BF16's vec_dot_type is BF16).
//
// Why a kernel of our own: Debian's OpenBLAS 0.3.21 is built without sbgemm, and decoding bf16 to
// an f32 tile for sgemm caps a BF16 model at the f32 FMA rate (16 multiply-adds per 512-bit FMA),
// while AVX512_BF16's vdpbf16ps does 32 (measured on the synthetic 1B BF16 GGUF: the tile path
// ran at 0.61× llama-perplexity's speed, which uses the same instruction).
//
// Scheme (one call = one panel of `n` weight rows): the rows are taken 32 at a time (two groups of
// 16), packed into a scratch block in the layout vdpbf16ps wants — vector s of a 16-row group holds,
// in 32-bit lane r, the bf16 pair (w[r][2s], w[r][2s+1]) — and multiplied against every token:
// a register tile of 6 tokens × 32 rows, each token's pair (x[t][2s], x[t][2s+1]) broadcast to all
// lanes, one vdpbf16ps per (token, group) and pair. The accumulators cover the whole of k (no
// partial sums in memory); a 32-row block is 64·k bytes (128 kB at k = 2048, 704 kB at k = 11008),
// so it stays in L2 while the tokens stream past.
//
// Numerics: each vdpbf16ps adds the two exact bf16 products to the f32 lane in turn (round to
// nearest even, denormal inputs and outputs flushed, as the instruction defines); ggml's
// ggml_vec_dot_bf16 uses the same instruction on this CPU, with a different split of k over
// lanes, so results agree up to the order of f32 additions. The portable path (no AVX512_BF16)
// sums the same products in plain f32; MatrixProduct only takes this route when
// quanta_bf16_gemm_available() says the instruction is there.
#include "cquantaweights.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weights_common.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define QB_X86 1
#include <immintrin.h>
#define QB_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")))
#else
#define QB_X86 0
#endif

#define QB_MT 6   // tokens per register tile
#define QB_ROWS 32 // weight rows per packed block (two 16-lane groups)

size_t quanta_bf16_scratch_bytes(size_t k) { return (size_t)QB_ROWS * k * 2; }

static int qb_detect(void) {
    int have = 0;
#if QB_X86
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#endif
    const char *env = getenv("QUANTA_BF16GEMM");
    if (env && strcmp(env, "0") == 0) have = 0;
    return have;
}

int quanta_bf16_gemm_available(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = qb_detect();  // idempotent: a race computes the same value twice
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

// Activations as ggml's from_float for BF16 rounds them (f32_to_bf16_ggml, weights_common.h).
void quanta_to_bf16(const float *x, size_t rows, size_t k, size_t stride, uint16_t *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * stride;
        uint16_t *out = y + r * k;
        for (size_t i = 0; i < k; i++) out[i] = f32_to_bf16_ggml(in[i]);
    }
}

// Rows [row, row + nr) (nr ≤ 32) of the matrix into the packed block: group g (rows 16g …), pair s
// at byte 64·(g·k/2 + s), lane r = stored row's dword s. Rows past nr are zero.
static void qb_pack(const uint8_t *base, const int32_t *rowmap, size_t row, size_t nr, size_t k, uint32_t *dst) {
    const size_t pairs = k / 2;
    for (size_t g = 0; g < 2; g++) {
        uint32_t *out = dst + g * pairs * 16;
        for (size_t r = 0; r < 16; r++) {
            const size_t local = 16 * g + r;
            if (local >= nr) {
                for (size_t s = 0; s < pairs; s++) out[s * 16 + r] = 0;
                continue;
            }
            const size_t stored = rowmap ? (size_t)rowmap[row + local] : row + local;
            const uint8_t *src = base + stored * k * 2;
            for (size_t s = 0; s < pairs; s++) out[s * 16 + r] = load_u32(src + 4 * s);
        }
    }
}

static inline float qb_widen(uint16_t b) { return bits_to_f32((uint32_t)b << 16); }

// Portable: the same products in f32, pair by pair.
static void qb_block_scalar(const uint32_t *w, size_t nr, size_t k, const uint16_t *x, size_t rows, float *c,
                            size_t ldc, int accumulate) {
    const size_t pairs = k / 2;
    for (size_t t = 0; t < rows; t++)
        for (size_t j = 0; j < nr; j++) {
            const uint32_t *wg = w + (j / 16) * pairs * 16;
            const size_t lane = j % 16;
            float acc = accumulate ? c[t * ldc + j] : 0.0f;
            for (size_t s = 0; s < pairs; s++) {
                const uint32_t wv = wg[s * 16 + lane];
                acc += qb_widen((uint16_t)(wv >> 16)) * qb_widen(x[t * k + 2 * s + 1]);
                acc += qb_widen((uint16_t)wv) * qb_widen(x[t * k + 2 * s]);
            }
            c[t * ldc + j] = acc;
        }
}

#if QB_X86
// MT tokens × NP 16-row groups over all of k; `lastvalid` lanes (1 … 16) of the last group are
// real rows (the others are padding and not stored).
static inline __attribute__((always_inline)) QB_T512 void qb_kern(const int MT, const int NP, const uint32_t *w,
                                                                    size_t gstride, const uint16_t *x, size_t k,
                                                                    float *c, size_t ldc, int lastvalid, int load_c) {
    const __mmask16 lastmask = (__mmask16)((1u << lastvalid) - 1u);
    __m512 acc[QB_MT][2];
    for (int t = 0; t < MT; t++)
        for (int p = 0; p < NP; p++) {
            float *cp = c + (size_t)t * ldc + 16 * (size_t)p;
            if (!load_c) acc[t][p] = _mm512_setzero_ps();
            else if (p == NP - 1) acc[t][p] = _mm512_maskz_loadu_ps(lastmask, cp);
            else acc[t][p] = _mm512_loadu_ps(cp);
        }
    const size_t pairs = k / 2;
    for (size_t s = 0; s < pairs; s++) {
        __m512i wv[2];
        for (int p = 0; p < NP; p++) wv[p] = _mm512_load_si512((const void *)(w + p * gstride + 16 * s));
        for (int t = 0; t < MT; t++) {
            int32_t xv;
            memcpy(&xv, x + (size_t)t * k + 2 * s, 4);
            const __m512i xb = _mm512_set1_epi32(xv);
            for (int p = 0; p < NP; p++) acc[t][p] = _mm512_dpbf16_ps(acc[t][p], (__m512bh)wv[p], (__m512bh)xb);
        }
    }
    for (int t = 0; t < MT; t++)
        for (int p = 0; p < NP; p++) {
            float *cp = c + (size_t)t * ldc + 16 * (size_t)p;
            if (p == NP - 1) _mm512_mask_storeu_ps(cp, lastmask, acc[t][p]);
            else _mm512_storeu_ps(cp, acc[t][p]);
        }
}

typedef void (*qb_kfn)(const uint32_t *, size_t, const uint16_t *, size_t, float *, size_t, int, int);
#define QB_K(MT, NP)                                                                                          \
    static QB_T512 void qb_k_##MT##_##NP(const uint32_t *w, size_t gs, const uint16_t *x, size_t k, float *c,   \
                                         size_t ldc, int lastvalid, int load_c) {                              \
        qb_kern(MT, NP, w, gs, x, k, c, ldc, lastvalid, load_c);                                               \
    }
QB_K(1, 1) QB_K(2, 1) QB_K(3, 1) QB_K(4, 1) QB_K(5, 1) QB_K(6, 1)
QB_K(1, 2) QB_K(2, 2) QB_K(3, 2) QB_K(4, 2) QB_K(5, 2) QB_K(6, 2)
// [np − 1][mt − 1]
static const qb_kfn qb_table[2][QB_MT] = {
    {qb_k_1_1, qb_k_2_1, qb_k_3_1, qb_k_4_1, qb_k_5_1, qb_k_6_1},
    {qb_k_1_2, qb_k_2_2, qb_k_3_2, qb_k_4_2, qb_k_5_2, qb_k_6_2},
};
#endif

void quanta_bf16_gemm(const void *base, const int32_t *rowmap, size_t row0, size_t n, size_t k, const uint16_t *xa,
                      size_t rows, float *c, size_t ldc, int accumulate, void *scratch) {
    if (n == 0 || rows == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t t = 0; t < rows; t++) memset(c + t * ldc, 0, n * sizeof(float));
        return;
    }
    const int simd = quanta_bf16_gemm_available();
    uint32_t *w = (uint32_t *)scratch;
    const size_t gstride = k / 2 * 16;  // uint32 words per 16-row group
    for (size_t j0 = 0; j0 < n; j0 += QB_ROWS) {
        const size_t nr = n - j0 < QB_ROWS ? n - j0 : QB_ROWS;
        qb_pack((const uint8_t *)base, rowmap, row0 + j0, nr, k, w);
#if QB_X86
        if (simd) {
            const int np = nr > 16 ? 2 : 1;
            const int lastvalid = (int)(nr - 16 * (size_t)(np - 1));
            for (size_t t0 = 0; t0 < rows; t0 += QB_MT) {
                const size_t mt = rows - t0 < QB_MT ? rows - t0 : QB_MT;
                qb_table[np - 1][mt - 1](w, gstride, xa + t0 * k, k, c + t0 * ldc + j0, ldc, lastvalid, accumulate);
            }
            continue;
        }
#else
        (void)simd;
#endif
        qb_block_scalar(w, nr, k, xa, rows, c + j0, ldc, accumulate);
    }
}
