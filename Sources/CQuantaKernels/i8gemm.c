// Blocked int8 GEMM (cquantaweights.h, "Blocked int8 GEMM"): weights unpacked to int8 + per-block
// float scale (+ min) are packed once into 16-row panels, then multiplied against int8 activations
// (Q8_0 / Q8_K style) with exact int32 block sums and an f32 per-block combination.
//
// Packed layout (the header states the contract; this is the detail). A panel is 16 consecutive
// weight rows; row 16·p + r of the matrix is lane r of panel p (rows past n are zero padding).
//   panel := header (64 B) · block[0] · block[1] · … · block[k/bs − 1]
//   header := int32 off, int32 width, int32 bs, int32 has_min, zero padding to 64 B
//   block  := bs/4 weight vectors of 64 B · scale[16] f32 · (min[16] f32 if has_min)
// Weight vector s of block b holds, at byte 4·r + i, the value q[16p + r][b·bs + 4s + i] + off as an
// unsigned byte: one vpdpbusd with the broadcast dword qa[t][b·bs + 4s … +3] (signed) yields the 16
// rows' partial dot products. `off` = −min(q) over the panel's rows (each panel has its own, so the
// pack reads q from memory once: a panel's range is taken, then its rows are packed from cache), so
// u8 ∈ [0, width] with width = max(q) − min(q); Σ qa·(q + off) = Σ qa·q + off·sa is undone exactly
// in int32 by starting each block's accumulator at −off·sa[t][b]. Every block is a multiple of 64 B,
// so panels (and their vectors) stay 64-byte aligned when the buffer is.
//
// Paths: AVX-512 VNNI (vpdpbusd, 6 tokens × 32 rows register tile), AVX2 (vpmaddubsw/vpmaddwd,
// 2 tokens × 16 rows; with width ≤ 129 the stored bytes keep vpmaddubsw's i16 pair sums exact,
// 2·129·127 < 2^15, otherwise the sign trick on the signed values) and portable C, for the GEMM
// and the pack's transposes alike. Chosen once at the first call (cached in an atomic);
// QUANTA_I8GEMM_ISA=scalar|avx2|avx512 in the environment caps the choice (for tests).
#include "cquantaweights.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define QI8_X86 1
#include <immintrin.h>
#define QI8_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")))
#define QI8_T256 __attribute__((target("avx2,fma")))
#else
#define QI8_X86 0
#endif

#define QI8_INLINE static inline __attribute__((always_inline))
#define QI8_HEADER 64
// K is processed in chunks of at most QI8_KC elements (see qi8_gemm_simd).
#ifndef QI8_KC
#define QI8_KC 2048
#endif
#define QI8_KCB_MAX (QI8_KC / 16)
#define QI8_MT512 6  // AVX-512 register tile: 6 tokens × 2 panels
#define QI8_NP512 2

typedef struct {
    int32_t off;      // weights are stored as q + off (unsigned byte)
    int32_t width;    // max(q) − min(q): the stored bytes are in [0, width]
    int32_t bs;
    int32_t has_min;
} qi8_header;

static inline size_t qi8_block_bytes(int bs, int has_min) { return 16 * (size_t)bs + (has_min ? 128 : 64); }
static inline size_t qi8_panel_bytes(size_t k, int bs, int has_min) {
    return QI8_HEADER + (k / (size_t)bs) * qi8_block_bytes(bs, has_min);
}

size_t quanta_i8_packed_size(size_t n, size_t k, int bs, int has_min) {
    return (n + 15) / 16 * qi8_panel_bytes(k, bs, has_min);
}

// MARK: - Packing

enum { QI8_ISA_SCALAR = 0, QI8_ISA_AVX2 = 1, QI8_ISA_AVX512 = 2 };
static int qi8_isa(void);

// Byte-wise (x + o) mod 256 on four bytes at once.
static inline uint32_t qi8_add_bytes(uint32_t x, uint32_t o) {
    return ((x & 0x7F7F7F7Fu) + (o & 0x7F7F7F7Fu)) ^ ((x ^ o) & 0x80808080u);
}

static void qi8_range(const int8_t *q, size_t count, int *lo, int *hi) {
    int8_t mn = 127, mx = -128;
    for (size_t i = 0; i < count; i++) {
        int8_t v = q[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    *lo = mn;
    *hi = mx;
}

// Weight vectors of columns [col0, k) of one panel (rows[r] for r < nr, zeros after).
static void qi8_pack_weights(const int8_t *const rows[16], size_t nr, size_t col0, size_t k, int bs, size_t bb,
                             uint32_t orep, uint8_t *dst) {
    for (size_t col = col0; col < k; col += 4) {
        uint32_t v[16];
        if (nr == 16) {
            for (size_t r = 0; r < 16; r++) {
                uint32_t x;
                memcpy(&x, rows[r] + col, 4);
                v[r] = qi8_add_bytes(x, orep);
            }
        } else {
            for (size_t r = 0; r < 16; r++) {
                uint32_t x = 0;
                if (r < nr) {
                    memcpy(&x, rows[r] + col, 4);
                    x = qi8_add_bytes(x, orep);
                }
                v[r] = x;
            }
        }
        memcpy(dst + col / (size_t)bs * bb + (col % (size_t)bs) / 4 * 64, v, 64);
    }
}

// Scales (at byte 16·bs of each block) or mins (16·bs + 64) of blocks [b0, nb): src[r] is row r's array.
static void qi8_pack_floats(const float *const src[16], size_t nr, size_t b0, size_t nb, size_t at, size_t bb,
                            uint8_t *dst) {
    for (size_t b = b0; b < nb; b++) {
        float v[16];
        for (size_t r = 0; r < 16; r++) v[r] = r < nr ? src[r][b] : 0.0f;
        memcpy(dst + b * bb + at, v, 64);
    }
}

#if QI8_X86
// out[g] = dword g of in[0 … 15] (a 16×16 transpose of 32-bit elements).
QI8_INLINE QI8_T512 void qi8_transpose16(__m512i r[16]) {
    __m512i a[16], b[16];
    for (int i = 0; i < 16; i += 2) {  // a[i] lane L: rows i, i+1 × dwords 4L, 4L+1; a[i+1]: 4L+2, 4L+3
        a[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        a[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int j = 0; j < 16; j += 4) {  // b[j + m] lane L: rows j … j+3 of dword 4L + m
        b[j] = _mm512_unpacklo_epi64(a[j], a[j + 2]);
        b[j + 1] = _mm512_unpackhi_epi64(a[j], a[j + 2]);
        b[j + 2] = _mm512_unpacklo_epi64(a[j + 1], a[j + 3]);
        b[j + 3] = _mm512_unpackhi_epi64(a[j + 1], a[j + 3]);
    }
    for (int m = 0; m < 4; m++) {  // r[4L + m] = lane L of b[m], b[4 + m], b[8 + m], b[12 + m]
        const __m512i x0 = _mm512_shuffle_i32x4(b[m], b[4 + m], 0x44);
        const __m512i x1 = _mm512_shuffle_i32x4(b[m], b[4 + m], 0xEE);
        const __m512i x2 = _mm512_shuffle_i32x4(b[8 + m], b[12 + m], 0x44);
        const __m512i x3 = _mm512_shuffle_i32x4(b[8 + m], b[12 + m], 0xEE);
        r[m] = _mm512_shuffle_i32x4(x0, x2, 0x88);
        r[4 + m] = _mm512_shuffle_i32x4(x0, x2, 0xDD);
        r[8 + m] = _mm512_shuffle_i32x4(x1, x3, 0x88);
        r[12 + m] = _mm512_shuffle_i32x4(x1, x3, 0xDD);
    }
}

// Columns [0, k − k % 64) of a full panel: 16 rows × 64 bytes in, transposed, 16 weight vectors out
// (vector g holds columns 4g … 4g + 3 of the 64). Returns the columns done.
static QI8_T512 size_t qi8_pack_weights512(const int8_t *const rows[16], size_t k, int bs, size_t bb, int off,
                                           uint8_t *dst) {
    const __m512i offv = _mm512_set1_epi8((char)off);
    size_t c0 = 0;
    for (; c0 + 64 <= k; c0 += 64) {
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            r[i] = _mm512_loadu_si512((const void *)(rows[i] + c0));
            _mm_prefetch((const char *)(rows[i] + c0 + 512), _MM_HINT_T0);
        }
        qi8_transpose16(r);
        for (int g = 0; g < 16; g++) {
            const size_t col = c0 + 4 * (size_t)g;
            _mm512_storeu_si512((void *)(dst + col / (size_t)bs * bb + (col % (size_t)bs) / 4 * 64),
                                _mm512_add_epi8(r[g], offv));
        }
    }
    return c0;
}

// Blocks [0, nb − nb % 16) of a full panel's scales or mins. Returns the blocks done.
static QI8_T512 size_t qi8_pack_floats512(const float *const src[16], size_t nb, size_t at, size_t bb, uint8_t *dst) {
    size_t b0 = 0;
    for (; b0 + 16 <= nb; b0 += 16) {
        __m512i r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512((const void *)(src[i] + b0));
        qi8_transpose16(r);
        for (int g = 0; g < 16; g++) _mm512_storeu_si512((void *)(dst + (b0 + (size_t)g) * bb + at), r[g]);
    }
    return b0;
}

// r[g] = dword g of r[0 … 7] (an 8×8 transpose of 32-bit elements).
QI8_INLINE QI8_T256 void qi8_transpose8(__m256i r[8]) {
    __m256i a[8], b[8];
    for (int i = 0; i < 8; i += 2) {
        a[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        a[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int j = 0; j < 8; j += 4) {  // b[j + m] lane L: rows j … j+3 of dword 4L + m
        b[j] = _mm256_unpacklo_epi64(a[j], a[j + 2]);
        b[j + 1] = _mm256_unpackhi_epi64(a[j], a[j + 2]);
        b[j + 2] = _mm256_unpacklo_epi64(a[j + 1], a[j + 3]);
        b[j + 3] = _mm256_unpackhi_epi64(a[j + 1], a[j + 3]);
    }
    for (int m = 0; m < 4; m++) {
        r[m] = _mm256_permute2x128_si256(b[m], b[4 + m], 0x20);
        r[4 + m] = _mm256_permute2x128_si256(b[m], b[4 + m], 0x31);
    }
}

// Columns [0, k − k % 32) of a full panel, 8 rows × 32 bytes at a time (rows 0–7 fill the first
// half of each weight vector, rows 8–15 the second). Returns the columns done.
static QI8_T256 size_t qi8_pack_weights256(const int8_t *const rows[16], size_t k, int bs, size_t bb, int off,
                                           uint8_t *dst) {
    const __m256i offv = _mm256_set1_epi8((char)off);
    size_t c0 = 0;
    for (; c0 + 32 <= k; c0 += 32)
        for (int half = 0; half < 2; half++) {
            __m256i r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_si256((const __m256i *)(const void *)(rows[8 * half + i] + c0));
            qi8_transpose8(r);
            for (int g = 0; g < 8; g++) {
                const size_t col = c0 + 4 * (size_t)g;
                _mm256_storeu_si256((__m256i *)(void *)(dst + col / (size_t)bs * bb + (col % (size_t)bs) / 4 * 64 + 32 * half),
                                    _mm256_add_epi8(r[g], offv));
            }
        }
    return c0;
}

// Blocks [0, nb − nb % 8) of a full panel's scales or mins. Returns the blocks done.
static QI8_T256 size_t qi8_pack_floats256(const float *const src[16], size_t nb, size_t at, size_t bb, uint8_t *dst) {
    size_t b0 = 0;
    for (; b0 + 8 <= nb; b0 += 8)
        for (int half = 0; half < 2; half++) {
            __m256i r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_si256((const __m256i *)(const void *)(src[8 * half + i] + b0));
            qi8_transpose8(r);
            for (int g = 0; g < 8; g++)
                _mm256_storeu_si256((__m256i *)(void *)(dst + (b0 + (size_t)g) * bb + at + 32 * half), r[g]);
        }
    return b0;
}
#endif

// One panel: rows [row0, row0 + nr) of q (nr ≤ 16), the rest zero.
static void qi8_pack_panel(int isa, const int8_t *q, const float *scale, const float *min, size_t row0, size_t nr,
                           size_t k, int bs, int has_min, int off, uint8_t *dst) {
    const size_t nb = k / (size_t)bs, bb = qi8_block_bytes(bs, has_min);
    const int8_t *rows[16];
    const float *srow[16], *mrow[16];
    for (size_t r = 0; r < 16; r++) {
        rows[r] = r < nr ? q + (row0 + r) * k : NULL;
        srow[r] = r < nr ? scale + (row0 + r) * nb : NULL;
        mrow[r] = r < nr && has_min ? min + (row0 + r) * nb : NULL;
    }
    size_t cols = 0, sblocks = 0, mblocks = 0;
#if QI8_X86
    if (isa == QI8_ISA_AVX512 && nr == 16) {
        cols = qi8_pack_weights512(rows, k, bs, bb, off, dst);
        sblocks = qi8_pack_floats512(srow, nb, 16 * (size_t)bs, bb, dst);
        if (has_min) mblocks = qi8_pack_floats512(mrow, nb, 16 * (size_t)bs + 64, bb, dst);
    } else if (isa == QI8_ISA_AVX2 && nr == 16) {
        cols = qi8_pack_weights256(rows, k, bs, bb, off, dst);
        sblocks = qi8_pack_floats256(srow, nb, 16 * (size_t)bs, bb, dst);
        if (has_min) mblocks = qi8_pack_floats256(mrow, nb, 16 * (size_t)bs + 64, bb, dst);
    }
#else
    (void)isa;
#endif
    qi8_pack_weights(rows, nr, cols, k, bs, bb, (uint32_t)(uint8_t)off * 0x01010101u, dst);
    qi8_pack_floats(srow, nr, sblocks, nb, 16 * (size_t)bs, bb, dst);
    if (has_min) qi8_pack_floats(mrow, nr, mblocks, nb, 16 * (size_t)bs + 64, bb, dst);
}

static void qi8_pack_isa(int isa, const int8_t *q, const float *scale, const float *min, size_t n, size_t k, int bs,
                         int has_min, void *packed) {
    const size_t pb = qi8_panel_bytes(k, bs, has_min);
    const size_t np = (n + 15) / 16;
    uint8_t *base = (uint8_t *)packed;
    for (size_t p = 0; p < np; p++) {
        uint8_t *panel = base + p * pb;
        const size_t nr = n - 16 * p < 16 ? n - 16 * p : 16;
        // The panel's own range (its rows are then packed from cache, one pass over q in memory).
        int lo = 0, hi = 0;
        if (k > 0) qi8_range(q + 16 * p * k, nr * k, &lo, &hi);
        const qi8_header h = {-lo, hi - lo, bs, has_min ? 1 : 0};
        memset(panel, 0, QI8_HEADER);
        memcpy(panel, &h, sizeof h);
        qi8_pack_panel(isa, q, scale, min, 16 * p, nr, k, bs, has_min, -lo, panel + QI8_HEADER);
    }
}

void quanta_i8_pack(const int8_t *q, const float *scale, const float *min, size_t n, size_t k, int bs, int has_min,
                    void *packed) {
    qi8_pack_isa(qi8_isa(), q, scale, min, n, k, bs, has_min, packed);
}

// MARK: - Shared driver pieces

// What a register-tile kernel needs: a group of consecutive panels starting at block kb0 of the
// K chunk, a tile of tokens, and the per-(token, block) integers computed by the driver.
typedef struct {
    const uint8_t *w;        // first panel of the group, first block of the chunk
    size_t pstride;          // bytes from one panel to the next
    const int8_t *qa;        // token t0, column kb0·bs
    size_t lda;              // k
    const float *da;         // token t0, block kb0
    size_t ldd;              // k / bs
    const int32_t *negcorr;  // [p][t][QI8_KCB_MAX] (t < QI8_MT512): −off_p·sa
    const float *dasa;       // [t][QI8_KCB_MAX]: da·sa (min term)
    float *c;                // token t0, column 16·(first panel)
    size_t ldc;
    int nblk;                // blocks in the chunk
    int lastvalid;           // valid lanes (1…16) of the group's last panel
    int load_c;              // add to c instead of overwriting it
} qi8_args;

// −off_p·sa for each of the `np` panels (offsets off[p]) and da·sa, for `mt` tokens over `nblk`
// blocks from block kb0.
static inline void qi8_prep(const float *da, const int32_t *sa, size_t ldd, size_t t0, size_t mt, size_t kb0,
                            int nblk, const int *off, size_t np, int has_min, int32_t *negcorr, float *dasa) {
    for (size_t t = 0; t < mt; t++) {
        const int32_t *s = sa + (t0 + t) * ldd + kb0;
        const float *d = da + (t0 + t) * ldd + kb0;
        for (size_t p = 0; p < np; p++) {
            int32_t *nc = negcorr + (p * QI8_MT512 + t) * QI8_KCB_MAX;
            const int o = off[p];
            for (int b = 0; b < nblk; b++) nc[b] = -o * s[b];
        }
        if (has_min) {
            float *ds = dasa + t * QI8_KCB_MAX;
            for (int b = 0; b < nblk; b++) ds[b] = d[b] * (float)s[b];
        }
    }
}

// MARK: - Portable C

static void qi8_gemm_scalar(const void *packed, size_t n, size_t k, int bs, int has_min, const int8_t *qa,
                            const float *da, const int32_t *sa, size_t rows, float *c, size_t ldc, int accumulate) {
    const size_t nb = k / (size_t)bs;
    const size_t pb = qi8_panel_bytes(k, bs, has_min);
    const size_t bb = qi8_block_bytes(bs, has_min);
    const size_t np = (n + 15) / 16;
    for (size_t p = 0; p < np; p++) {
        qi8_header h;
        memcpy(&h, (const uint8_t *)packed + p * pb, sizeof h);
        const uint8_t *panel = (const uint8_t *)packed + p * pb + QI8_HEADER;
        const size_t nr = n - 16 * p < 16 ? n - 16 * p : 16;
        for (size_t t = 0; t < rows; t++) {
            float acc[16];
            for (size_t r = 0; r < 16; r++) acc[r] = accumulate && r < nr ? c[t * ldc + 16 * p + r] : 0.0f;
            const int8_t *x = qa + t * k;
            for (size_t b = 0; b < nb; b++) {
                const uint8_t *blk = panel + b * bb;
                const int32_t s = sa[t * nb + b];
                int32_t isum[16];
                for (int r = 0; r < 16; r++) isum[r] = -h.off * s;
                for (int i = 0; i < bs; i++) {
                    const int32_t a = x[b * (size_t)bs + (size_t)i];
                    const uint8_t *wv = blk + 64 * (i / 4) + (i % 4);
                    for (int r = 0; r < 16; r++) isum[r] += a * (int32_t)wv[4 * r];
                }
                float sc[16], mn[16];
                memcpy(sc, blk + 16 * (size_t)bs, 64);
                if (has_min) memcpy(mn, blk + 16 * (size_t)bs + 64, 64);
                const float d = da[t * nb + b];
                const float ds = d * (float)s;
                for (int r = 0; r < 16; r++) {
                    acc[r] += (float)isum[r] * (sc[r] * d);
                    if (has_min) acc[r] += mn[r] * ds;
                }
            }
            for (size_t r = 0; r < nr; r++) c[t * ldc + 16 * p + r] = acc[r];
        }
    }
}

#if QI8_X86

// MARK: - AVX-512 VNNI

// MT tokens × NP panels (16 rows each) over a K chunk. Per block: the int32 accumulators start at
// −off·sa; for each 4-column step the NP weight vectors are loaded once and every token's broadcast
// dword meets them in one vpdpbusd (u8 weights × s8 activations → 16 exact int32 sums); then per
// (token, panel) cvt, scale·da (one vmulps with the broadcast da), an FMA into the f32 tile, and
// with a min one more FMA (min · da·sa). The f32 tile lives in registers for the whole chunk.
QI8_INLINE QI8_T512 void qi8_kern512(const int MT, const int NP, const int BS, const int MIN, const qi8_args *a) {
    const size_t ps = a->pstride;
    const size_t lda = a->lda, ldd = a->ldd, ldc = a->ldc;
    const __mmask16 lastmask = (__mmask16)((1u << a->lastvalid) - 1u);
    __m512 cacc[QI8_MT512][QI8_NP512];
    for (int t = 0; t < MT; t++)
        for (int p = 0; p < NP; p++) {
            float *cp = a->c + (size_t)t * ldc + 16 * (size_t)p;
            if (!a->load_c) cacc[t][p] = _mm512_setzero_ps();
            else if (p == NP - 1) cacc[t][p] = _mm512_maskz_loadu_ps(lastmask, cp);
            else cacc[t][p] = _mm512_loadu_ps(cp);
        }
    const size_t BB = 16 * (size_t)BS + (MIN ? 128 : 64);
    const uint8_t *w = a->w;
    const int8_t *x = a->qa;
    for (int b = 0; b < a->nblk; b++) {
        __m512i acc[QI8_MT512][QI8_NP512];
        for (int t = 0; t < MT; t++)
            for (int p = 0; p < NP; p++)
                acc[t][p] = _mm512_set1_epi32(a->negcorr[(p * QI8_MT512 + t) * QI8_KCB_MAX + b]);
        for (int s = 0; s < BS / 4; s++) {
            __m512i wv[QI8_NP512];
            for (int p = 0; p < NP; p++) wv[p] = _mm512_load_si512((const void *)(w + p * ps + 64 * (size_t)s));
            for (int t = 0; t < MT; t++) {
                int32_t xv;
                memcpy(&xv, x + (size_t)t * lda + 4 * (size_t)s, 4);
                const __m512i xb = _mm512_set1_epi32(xv);
                for (int p = 0; p < NP; p++) acc[t][p] = _mm512_dpbusd_epi32(acc[t][p], wv[p], xb);
            }
        }
        __m512 sc[QI8_NP512], mn[QI8_NP512];
        for (int p = 0; p < NP; p++) {
            sc[p] = _mm512_load_ps((const float *)(const void *)(w + p * ps + 16 * (size_t)BS));
            if (MIN) mn[p] = _mm512_load_ps((const float *)(const void *)(w + p * ps + 16 * (size_t)BS + 64));
        }
        for (int t = 0; t < MT; t++) {
            const __m512 d = _mm512_set1_ps(a->da[(size_t)t * ldd + (size_t)b]);
            for (int p = 0; p < NP; p++)
                cacc[t][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t][p]), _mm512_mul_ps(sc[p], d), cacc[t][p]);
            if (MIN) {
                const __m512 ds = _mm512_set1_ps(a->dasa[t * QI8_KCB_MAX + b]);
                for (int p = 0; p < NP; p++) cacc[t][p] = _mm512_fmadd_ps(mn[p], ds, cacc[t][p]);
            }
        }
        w += BB;
        x += BS;
    }
    for (int t = 0; t < MT; t++)
        for (int p = 0; p < NP; p++) {
            float *cp = a->c + (size_t)t * ldc + 16 * (size_t)p;
            if (p == NP - 1) _mm512_mask_storeu_ps(cp, lastmask, cacc[t][p]);
            else _mm512_storeu_ps(cp, cacc[t][p]);
        }
}

typedef void (*qi8_kfn)(const qi8_args *);

#define QI8_K512(MT, NP, BS, MIN) \
    static QI8_T512 void qi8_k512_##MT##_##NP##_##BS##_##MIN(const qi8_args *a) { qi8_kern512(MT, NP, BS, MIN, a); }
#define QI8_K512_MT(NP, BS, MIN) \
    QI8_K512(1, NP, BS, MIN) QI8_K512(2, NP, BS, MIN) QI8_K512(3, NP, BS, MIN) \
    QI8_K512(4, NP, BS, MIN) QI8_K512(5, NP, BS, MIN) QI8_K512(6, NP, BS, MIN)
#define QI8_K512_ALL(BS, MIN) QI8_K512_MT(1, BS, MIN) QI8_K512_MT(2, BS, MIN)
QI8_K512_ALL(16, 0)
QI8_K512_ALL(16, 1)
QI8_K512_ALL(32, 0)
QI8_K512_ALL(32, 1)

#define QI8_ROW512(NP, BS, MIN)                                                                              \
    {qi8_k512_1_##NP##_##BS##_##MIN, qi8_k512_2_##NP##_##BS##_##MIN, qi8_k512_3_##NP##_##BS##_##MIN,         \
     qi8_k512_4_##NP##_##BS##_##MIN, qi8_k512_5_##NP##_##BS##_##MIN, qi8_k512_6_##NP##_##BS##_##MIN}
// [bs == 32][has_min][np − 1][mt − 1]
static const qi8_kfn qi8_table512[2][2][QI8_NP512][QI8_MT512] = {
    {{QI8_ROW512(1, 16, 0), QI8_ROW512(2, 16, 0)}, {QI8_ROW512(1, 16, 1), QI8_ROW512(2, 16, 1)}},
    {{QI8_ROW512(1, 32, 0), QI8_ROW512(2, 32, 0)}, {QI8_ROW512(1, 32, 1), QI8_ROW512(2, 32, 1)}},
};

// MARK: - AVX2

#define QI8_MT256 2

// MT (≤ 2) tokens × one panel (two 8-row halves) over a K chunk, the same scheme with vpmaddubsw
// (u8 × s8 → i16 pairs) and vpmaddwd by ones (→ int32). WIDE panels (stored bytes up to 255) are
// turned back into signed values and multiplied as |w| × sign(w)·x, with no offset correction.
QI8_INLINE QI8_T256 void qi8_kern256(const int MT, const int BS, const int MIN, const int WIDE, const int off,
                                     const qi8_args *a) {
    const size_t lda = a->lda, ldd = a->ldd, ldc = a->ldc;
    const int nv = a->lastvalid;
    __m256 cacc[QI8_MT256][2];
    for (int t = 0; t < MT; t++) {
        float *cp = a->c + (size_t)t * ldc;
        if (!a->load_c) {
            cacc[t][0] = cacc[t][1] = _mm256_setzero_ps();
        } else if (nv == 16) {
            cacc[t][0] = _mm256_loadu_ps(cp);
            cacc[t][1] = _mm256_loadu_ps(cp + 8);
        } else {
            float tmp[16] = {0};
            memcpy(tmp, cp, (size_t)nv * sizeof(float));
            cacc[t][0] = _mm256_loadu_ps(tmp);
            cacc[t][1] = _mm256_loadu_ps(tmp + 8);
        }
    }
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i offv = _mm256_set1_epi8((char)off);
    const size_t BB = 16 * (size_t)BS + (MIN ? 128 : 64);
    const uint8_t *w = a->w;
    const int8_t *x = a->qa;
    for (int b = 0; b < a->nblk; b++) {
        __m256i acc[QI8_MT256][2];
        for (int t = 0; t < MT; t++) {
            // The signed (WIDE) form needs no offset correction.
            const __m256i init = WIDE ? _mm256_setzero_si256() : _mm256_set1_epi32(a->negcorr[t * QI8_KCB_MAX + b]);
            acc[t][0] = acc[t][1] = init;
        }
        for (int s = 0; s < BS / 4; s++) {
            __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(w + 64 * (size_t)s));
            __m256i w1 = _mm256_load_si256((const __m256i *)(const void *)(w + 64 * (size_t)s + 32));
            __m256i u0 = w0, u1 = w1;
            if (WIDE) {  // back to the signed values; |w| as the unsigned operand, sign moved to x
                w0 = _mm256_sub_epi8(w0, offv);
                w1 = _mm256_sub_epi8(w1, offv);
                u0 = _mm256_abs_epi8(w0);
                u1 = _mm256_abs_epi8(w1);
            }
            for (int t = 0; t < MT; t++) {
                int32_t xv;
                memcpy(&xv, x + (size_t)t * lda + 4 * (size_t)s, 4);
                const __m256i xb = _mm256_set1_epi32(xv);
                const __m256i x0 = WIDE ? _mm256_sign_epi8(xb, w0) : xb;
                const __m256i x1 = WIDE ? _mm256_sign_epi8(xb, w1) : xb;
                acc[t][0] = _mm256_add_epi32(acc[t][0], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, x0), ones));
                acc[t][1] = _mm256_add_epi32(acc[t][1], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, x1), ones));
            }
        }
        const float *scp = (const float *)(const void *)(w + 16 * (size_t)BS);
        const __m256 sc0 = _mm256_load_ps(scp), sc1 = _mm256_load_ps(scp + 8);
        for (int t = 0; t < MT; t++) {
            const __m256 d = _mm256_set1_ps(a->da[(size_t)t * ldd + (size_t)b]);
            cacc[t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t][0]), _mm256_mul_ps(sc0, d), cacc[t][0]);
            cacc[t][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t][1]), _mm256_mul_ps(sc1, d), cacc[t][1]);
            if (MIN) {
                const __m256 ds = _mm256_set1_ps(a->dasa[t * QI8_KCB_MAX + b]);
                cacc[t][0] = _mm256_fmadd_ps(_mm256_load_ps(scp + 16), ds, cacc[t][0]);
                cacc[t][1] = _mm256_fmadd_ps(_mm256_load_ps(scp + 24), ds, cacc[t][1]);
            }
        }
        w += BB;
        x += BS;
    }
    for (int t = 0; t < MT; t++) {
        float *cp = a->c + (size_t)t * ldc;
        if (nv == 16) {
            _mm256_storeu_ps(cp, cacc[t][0]);
            _mm256_storeu_ps(cp + 8, cacc[t][1]);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, cacc[t][0]);
            _mm256_storeu_ps(tmp + 8, cacc[t][1]);
            memcpy(cp, tmp, (size_t)nv * sizeof(float));
        }
    }
}

typedef void (*qi8_kfn256)(const qi8_args *, int off);
#define QI8_K256(MT, BS, MIN, WIDE)                                                        \
    static QI8_T256 void qi8_k256_##MT##_##BS##_##MIN##_##WIDE(const qi8_args *a, int off) { \
        qi8_kern256(MT, BS, MIN, WIDE, off, a);                                            \
    }
#define QI8_K256_MT(BS, MIN, WIDE) QI8_K256(1, BS, MIN, WIDE) QI8_K256(2, BS, MIN, WIDE)
QI8_K256_MT(16, 0, 0)
QI8_K256_MT(16, 0, 1)
QI8_K256_MT(16, 1, 0)
QI8_K256_MT(16, 1, 1)
QI8_K256_MT(32, 0, 0)
QI8_K256_MT(32, 0, 1)
QI8_K256_MT(32, 1, 0)
QI8_K256_MT(32, 1, 1)
#define QI8_ROW256(BS, MIN, WIDE) {qi8_k256_1_##BS##_##MIN##_##WIDE, qi8_k256_2_##BS##_##MIN##_##WIDE}
// [bs == 32][has_min][wide][mt − 1]
static const qi8_kfn256 qi8_table256[2][2][2][QI8_MT256] = {
    {{QI8_ROW256(16, 0, 0), QI8_ROW256(16, 0, 1)}, {QI8_ROW256(16, 1, 0), QI8_ROW256(16, 1, 1)}},
    {{QI8_ROW256(32, 0, 0), QI8_ROW256(32, 0, 1)}, {QI8_ROW256(32, 1, 0), QI8_ROW256(32, 1, 1)}},
};

#endif  // QI8_X86

// MARK: - Driver (SIMD paths)

#if QI8_X86
// Loops: group of NP panels › K chunk (≤ QI8_KC elements) › tile of MT tokens › register kernel. A
// group's weights (≤ 2 × 16 × QI8_KC bytes + scales) stay in L2 while every token tile passes over
// them, and its c columns (T × 32 floats) stay in L2 across the chunks.
static void qi8_gemm_simd(int isa, const void *packed, size_t n, size_t k, int bs, int has_min, const int8_t *qa,
                          const float *da, const int32_t *sa, size_t rows, float *c, size_t ldc, int accumulate) {
    const size_t nb = k / (size_t)bs;
    const size_t pb = qi8_panel_bytes(k, bs, has_min);
    const size_t bb = qi8_block_bytes(bs, has_min);
    const size_t npanels = (n + 15) / 16;
    // Equal chunks of at most QI8_KC elements (K = 8192 in 4 × 2048, K = 2560 in 2 × 1280).
    const size_t nchunks = (nb + (size_t)(QI8_KC / bs) - 1) / (size_t)(QI8_KC / bs);
    const int kcb = (int)((nb + nchunks - 1) / nchunks);
    const size_t MT = isa == QI8_ISA_AVX512 ? QI8_MT512 : QI8_MT256;
    const size_t NP = isa == QI8_ISA_AVX512 ? QI8_NP512 : 1;
    int32_t negcorr[QI8_NP512 * QI8_MT512 * QI8_KCB_MAX];
    float dasa[QI8_MT512 * QI8_KCB_MAX];
    qi8_args a;
    a.pstride = pb;
    a.lda = k;
    a.ldd = nb;
    a.negcorr = negcorr;
    a.dasa = dasa;
    a.ldc = ldc;
    for (size_t p0 = 0; p0 < npanels; p0 += NP) {
        const size_t np = npanels - p0 < NP ? npanels - p0 : NP;
        const size_t lastrow = 16 * (p0 + np - 1);
        a.lastvalid = n - lastrow < 16 ? (int)(n - lastrow) : 16;
        int off[QI8_NP512], stored_off = 0, wide = 0;
        for (size_t p = 0; p < np; p++) {
            qi8_header h;
            memcpy(&h, (const uint8_t *)packed + (p0 + p) * pb, sizeof h);
            off[p] = stored_off = h.off;
            // AVX2: the u8·s8 pair sums of vpmaddubsw fit int16 only for stored bytes ≤ 129; wider
            // panels go through the signed values (sign trick), which need no offset correction.
            if (isa == QI8_ISA_AVX2 && h.width > 129) wide = 1, off[p] = 0;
        }
        for (size_t kb0 = 0; kb0 < nb; kb0 += (size_t)kcb) {
            a.nblk = nb - kb0 < (size_t)kcb ? (int)(nb - kb0) : kcb;
            a.load_c = accumulate || kb0 > 0;
            a.w = (const uint8_t *)packed + p0 * pb + QI8_HEADER + kb0 * bb;
            for (size_t t0 = 0; t0 < rows; t0 += MT) {
                const size_t mt = rows - t0 < MT ? rows - t0 : MT;
                qi8_prep(da, sa, nb, t0, mt, kb0, a.nblk, off, np, has_min, negcorr, dasa);
                a.qa = qa + t0 * k + kb0 * (size_t)bs;
                a.da = da + t0 * nb + kb0;
                a.c = c + t0 * ldc + 16 * p0;
                if (isa == QI8_ISA_AVX512) qi8_table512[bs == 32][has_min != 0][np - 1][mt - 1](&a);
                else qi8_table256[bs == 32][has_min != 0][wide][mt - 1](&a, stored_off);
            }
        }
    }
}
#endif

static int qi8_detect(void) {
    int best = QI8_ISA_SCALAR;
#if QI8_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = QI8_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni"))
        best = QI8_ISA_AVX512;
#endif
    const char *env = getenv("QUANTA_I8GEMM_ISA");
    if (env) {
        int want = best;
        if (strcmp(env, "scalar") == 0) want = QI8_ISA_SCALAR;
        else if (strcmp(env, "avx2") == 0) want = QI8_ISA_AVX2;
        else if (strcmp(env, "avx512") == 0) want = QI8_ISA_AVX512;
        if (want < best) best = want;  // a cap: never a path the CPU lacks
    }
    return best;
}

static int qi8_isa(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = qi8_detect();  // idempotent: a race only computes the same value twice
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

static void qi8_gemm_isa(int isa, const void *packed, size_t n, size_t k, int bs, int has_min, const int8_t *qa,
                         const float *da, const int32_t *sa, size_t rows, float *c, size_t ldc, int accumulate) {
    if (n == 0 || rows == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (size_t t = 0; t < rows; t++) memset(c + t * ldc, 0, n * sizeof(float));
        return;
    }
#if QI8_X86
    if (isa != QI8_ISA_SCALAR) {
        qi8_gemm_simd(isa, packed, n, k, bs, has_min, qa, da, sa, rows, c, ldc, accumulate);
        return;
    }
#else
    (void)isa;
#endif
    qi8_gemm_scalar(packed, n, k, bs, has_min, qa, da, sa, rows, c, ldc, accumulate);
}

void quanta_i8_gemm(const void *packed, size_t n, size_t k, int bs, int has_min, const int8_t *qa, const float *da,
                    const int32_t *sa, size_t rows, float *c, size_t ldc, int accumulate) {
    qi8_gemm_isa(qi8_isa(), packed, n, k, bs, has_min, qa, da, sa, rows, c, ldc, accumulate);
}
