// Compares Quanta's activation quantizers / roundings (Sources/CQuantaKernels/weights_*.c) with
// ggml-cpu itself, byte for byte: links libggml-cpu.so + libggml-base.so of the llama.cpp build
// and calls the CPU backend's `from_float` of Q8_0 / Q8_1 / Q8_K (what ggml_compute_forward_mul_mat
// applies to src1) and ggml_cpu_fp32_to_fp16 / ggml_cpu_fp32_to_bf16.
//
// Built and run by check_weight_kernels.py:
//   cc -O2 -I<ggml>/include -I<quanta>/Sources/CQuantaKernels/include ggml_acts_harness.c
//      <weights_*.c or the kernel .so> -L<build>/bin -lggml-cpu -lggml-base -Wl,-rpath,<build>/bin
// Prints one "PASS <check> ..." / "FAIL <check> ..." line per check (and "INFO ..." lines), and
// exits 1 if any check failed.
#include "cquantaweights.h"
#include "ggml-cpu.h"
#include "ggml.h"
// For ggml_compute_fp32_to_fp16, the software conversion that GGML_CPU_FP32_TO_FP16 expands to in
// ggml-cpu's x86 quants.c (it stores the d of Q8_0 / Q8_1 blocks); the harness is compiled with
// ggml's own flags (-O3 -march=native, GNU C) so the expansion is the same code.
#include "ggml-impl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void report(int ok, const char *name, const char *detail) {
    printf("%s %s %s\n", ok ? "PASS" : "FAIL", name, detail);
    if (!ok) failures++;
}

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// splitmix64
static uint64_t rng_state = 0x5eed;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(rnd() >> 11) * 0x1p-53; }
static float normalish(void) {  // sum of uniforms, roughly gaussian
    double s = 0;
    for (int i = 0; i < 4; i++) s += uniform();
    return (float)((s - 2.0) * 1.7);
}

// MARK: - exhaustive f16 / bf16 rounding

// All 2^32 bit patterns (stride 1), or a sample of 2^24 spread over all of them (stride 257).
static void check_rounding(uint64_t stride) {
    const uint64_t total = stride == 1 ? ((uint64_t)1 << 32) : ((uint64_t)1 << 24);
    const size_t chunk = (size_t)1 << 20;
    float *x = malloc(chunk * 4), *mine = malloc(chunk * 4), *ref = malloc(chunk * 4);
    ggml_fp16_t *h = malloc(chunk * 2);
    ggml_bf16_t *b = malloc(chunk * 2);
    uint64_t bad16 = 0, badbf = 0;
    uint32_t first16 = 0, firstbf = 0;
    for (uint64_t base = 0; base < total; base += chunk) {
        for (size_t i = 0; i < chunk; i++) x[i] = u2f((uint32_t)((base + i) * stride));
        ggml_cpu_fp32_to_fp16(x, h, (int64_t)chunk);
        ggml_cpu_fp16_to_fp32(h, ref, (int64_t)chunk);
        quanta_round_f16(x, mine, chunk);
        for (size_t i = 0; i < chunk; i++)
            if (f2u(mine[i]) != f2u(ref[i])) {
                if (!bad16) first16 = f2u(x[i]);
                bad16++;
            }
        ggml_cpu_fp32_to_bf16(x, b, (int64_t)chunk);
        quanta_round_bf16(x, mine, chunk);
        for (size_t i = 0; i < chunk; i++) {
            uint16_t bits;
            memcpy(&bits, &b[i], 2);
            if (f2u(mine[i]) != ((uint32_t)bits << 16)) {
                if (!badbf) firstbf = f2u(x[i]);
                badbf++;
            }
        }
    }
    // ggml_compute_fp32_to_fp16 (the Q8_0/Q8_1 d conversion) = quanta_round_f16 on every non-NaN
    // input, and ±0x7e00 on NaN: what weights_acts.c's round_to_f16_ggml assumes.
    uint64_t badsw = 0;
    uint32_t firstsw = 0;
    for (uint64_t base = 0; base < total; base += chunk) {
        for (size_t i = 0; i < chunk; i++) x[i] = u2f((uint32_t)((base + i) * stride));
        quanta_round_f16(x, mine, chunk);
        for (size_t i = 0; i < chunk; i++) {
            const uint32_t u = (uint32_t)((base + i) * stride);
            const ggml_fp16_t hs = ggml_compute_fp32_to_fp16(x[i]);
            const uint32_t expect = ((u & 0x7fffffffu) > 0x7f800000u) ? ((u & 0x80000000u) >> 16) | 0x7e00u
                                                                        : (uint32_t)ggml_compute_fp32_to_fp16(mine[i]);
            // mine[i] is exactly representable in f16 (or NaN), so converting it back is exact.
            if (hs != expect) {
                if (!badsw) firstsw = u;
                badsw++;
            }
        }
    }
    const char *what = stride == 1 ? "all 2^32 f32 bit patterns" : "2^24 f32 bit patterns (stride 257)";
    char detail[240];
    snprintf(detail, sizeof detail, "ggml_compute_fp32_to_fp16 (software, Q8_0/Q8_1 d) == quanta_round_f16 on non-NaN, "
             "canonical 0x7e00 on NaN, %s: %llu mismatches (first 0x%08x)",
             what, (unsigned long long)badsw, firstsw);
    report(badsw == 0, "round_f16_ggml_software", detail);
    snprintf(detail, sizeof detail, "%s vs ggml_cpu_fp32_to_fp16 -> fp16_to_fp32: %llu mismatches (first 0x%08x)",
             what, (unsigned long long)bad16, first16);
    report(bad16 == 0, "round_f16", detail);
    snprintf(detail, sizeof detail, "%s vs ggml_cpu_fp32_to_bf16: %llu mismatches (first 0x%08x)",
             what, (unsigned long long)badbf, firstbf);
    report(badbf == 0, "round_bf16", detail);
    free(x), free(mine), free(ref), free(h), free(b);
}

// MARK: - activation rows

// Fills one block of `n` values with a pattern chosen by `kind`.
static void fill_block(float *x, int n, int kind) {
    switch (kind) {
    case 0:  // ordinary activations, random magnitude
    case 1:
    case 2: {
        const float scale = ldexpf(1.0f, (int)(rnd() % 40) - 20);
        for (int i = 0; i < n; i++) x[i] = normalish() * scale;
        break;
    }
    case 3:  // exact ties for Q8_0 (amax 127 -> id = 1) and Q8_K (max ±127 -> iscale = ∓1)
        for (int i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 253) - 126) + 0.5f;
        x[rnd() % (uint64_t)n] = (rnd() & 1) ? 127.0f : -127.0f;
        break;
    case 4:  // ties at another scale: amax 254 -> id = 0.5, odd integers tie
        for (int i = 0; i < n; i++) x[i] = (float)(2 * (int)(rnd() % 254) - 253);
        x[rnd() % (uint64_t)n] = (rnd() & 1) ? 254.0f : -254.0f;
        break;
    case 5:  // all zeros (with signed zeros)
        for (int i = 0; i < n; i++) x[i] = (rnd() & 1) ? 0.0f : -0.0f;
        break;
    case 6:  // mostly zeros, a few values
        for (int i = 0; i < n; i++) x[i] = (rnd() % 8 == 0) ? normalish() : 0.0f;
        break;
    case 7:  // huge values (d overflows f16; products near FLT_MAX)
        for (int i = 0; i < n; i++) x[i] = normalish() * 1e37f;
        x[rnd() % (uint64_t)n] = (rnd() & 1) ? 3.4028235e38f : -3.4028235e38f;
        break;
    case 8:  // tiny values: 127/amax overflows to inf, subnormals
        for (int i = 0; i < n; i++) x[i] = normalish() * 1e-39f;
        break;
    case 9:  // ± the same largest magnitude (which sign Q8_K picks)
        for (int i = 0; i < n; i++) x[i] = normalish();
        x[rnd() % (uint64_t)n] = 9.0f;
        x[rnd() % (uint64_t)n] = -9.0f;
        break;
    case 10:  // d rounds to an f16 subnormal
        for (int i = 0; i < n; i++) x[i] = normalish() * 1e-4f;
        break;
    case 11:  // infinities
        for (int i = 0; i < n; i++) x[i] = normalish();
        x[rnd() % (uint64_t)n] = (rnd() & 1) ? INFINITY : -INFINITY;
        break;
    case 12:  // NaNs
        for (int i = 0; i < n; i++) x[i] = normalish();
        x[rnd() % (uint64_t)n] = u2f(0x7fc00000u | (uint32_t)(rnd() & 0x3fffff) | ((rnd() & 1) ? 0x80000000u : 0));
        break;
    default:  // values exactly at f16 rounding boundaries of d (amax = 127 * (f16 midpoint))
        for (int i = 0; i < n; i++) x[i] = normalish() * 0.01f;
        x[rnd() % (uint64_t)n] = 127.0f * (1.0f + 0x1p-11f) * 0.02f;
        break;
    }
}

static float h2f(ggml_fp16_t h) {
    float f;
    ggml_cpu_fp16_to_fp32(&h, &f, 1);
    return f;
}

typedef struct {
    ggml_fp16_t d;
    int8_t qs[32];
} ref_q8_0;
typedef struct {
    ggml_fp16_t d, s;
    int8_t qs[32];
} ref_q8_1;
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
} ref_q8_K;

static void check_acts(enum ggml_type type, quanta_act_kind kind, const char *name, int with_specials) {
    const size_t rows = 8, k = 8192, ldx = k + 5;
    const size_t block = type == GGML_TYPE_Q8_K ? 256 : 32;
    const size_t nb = k / block;
    float *x = malloc(rows * ldx * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < nb; b++) {
            int pattern = (int)(rnd() % (with_specials ? 14 : 3));
            fill_block(x + r * ldx + b * block, (int)block, pattern);
        }
    const struct ggml_type_traits_cpu *traits = ggml_get_type_traits_cpu(type);
    const size_t row_bytes = ggml_row_size(type, (int64_t)k);
    uint8_t *ref = malloc(rows * row_bytes);
    for (size_t r = 0; r < rows; r++) traits->from_float(x + r * ldx, ref + r * row_bytes, (int64_t)k);

    for (int bs = 16; bs <= 32; bs *= 2) {
        const size_t nsub = k / (size_t)bs;
        int8_t *q = malloc(rows * k);
        float *d = malloc(rows * nsub * sizeof(float));
        int32_t *sum = malloc(rows * nsub * sizeof(int32_t));
        quanta_act_kind k2 = kind;
        quanta_quantize_acts(x, rows, k, ldx, k2, bs, q, d, sum);
        size_t bad_q = 0, bad_d = 0, bad_s = 0, bad_bsums = 0, s_mismatch = 0;
        for (size_t r = 0; r < rows; r++)
            for (size_t b = 0; b < nb; b++) {
                const uint8_t *blk = ref + r * row_bytes;
                const int8_t *rq;
                float rd;
                if (type == GGML_TYPE_Q8_0) {
                    const ref_q8_0 *y = (const ref_q8_0 *)blk + b;
                    rq = y->qs;
                    rd = h2f(y->d);
                } else if (type == GGML_TYPE_Q8_1) {
                    const ref_q8_1 *y = (const ref_q8_1 *)blk + b;
                    rq = y->qs;
                    rd = h2f(y->d);
                    int total = 0;
                    for (int i = 0; i < 32; i++) total += y->qs[i];
                    // How often the stored s differs from f16(d_f16 · Σq) (the header's form).
                    ggml_fp16_t alt;
                    float prod = rd * (float)total;
                    ggml_cpu_fp32_to_fp16(&prod, &alt, 1);
                    if (memcmp(&alt, &y->s, 2) != 0) s_mismatch++;
                } else {
                    const ref_q8_K *y = (const ref_q8_K *)blk + b;
                    rq = y->qs;
                    rd = y->d;
                    // An all-zero block returns before bsums are written (ggml-quants.c
                    // quantize_row_q8_K_ref), so they hold whatever the buffer held; d = 0 there.
                    int zero = y->d == 0.0f;
                    for (int i = 0; i < 256 && zero; i++) zero = y->qs[i] == 0;
                    if (bs == 16 && !zero)
                        for (int j = 0; j < 16; j++)
                            if (sum[r * nsub + b * 16 + (size_t)j] != y->bsums[j]) bad_bsums++;
                }
                if (memcmp(rq, q + r * k + b * block, block) != 0) bad_q++;
                const size_t per = block / (size_t)bs;
                for (size_t s = 0; s < per; s++) {
                    const size_t idx = r * nsub + b * per + s;
                    if (f2u(d[idx]) != f2u(rd)) bad_d++;
                    int total = 0;
                    for (int i = 0; i < bs; i++) total += rq[s * (size_t)bs + (size_t)i];
                    if (sum[idx] != total) bad_s++;
                }
            }
        char check[96], detail[256];
        snprintf(check, sizeof check, "acts_%s_bs%d%s", name, bs, with_specials ? "_specials" : "_random");
        snprintf(detail, sizeof detail,
                 "%zu rows x %zu (ldx %zu) vs ggml from_float: blocks with q mismatch %zu, d mismatch %zu, "
                 "sum mismatch %zu, bsums mismatch %zu",
                 rows, k, ldx, bad_q, bad_d, bad_s, bad_bsums);
        report(bad_q == 0 && bad_d == 0 && bad_s == 0 && bad_bsums == 0, check, detail);
        if (type == GGML_TYPE_Q8_1 && bs == 32) {
            printf("INFO acts_%s%s: %zu of %zu blocks have ggml's s = f16(d_f32*Sum q) != f16(f16(d)*Sum q)\n", name,
                   with_specials ? "_specials" : "_random", s_mismatch, rows * nb);
        }
        free(q), free(d), free(sum);
    }
    free(x), free(ref);
}

// ggml-cpu/arch/x86/repack.cpp: how src1 is quantized, 4 rows at a time, when the weight sits in a
// CPU_REPACK buffer (llama.cpp's default): Q4_0 / IQ4_NL (-> q8_0 4x8) and Q4_K, Q2_K on AVX-512
// (-> q8_K 4x8) here; rows left over (ne11 % 4) go through from_float. Interleaved layout:
// qs[32*j + 8*r + t] = q of row r, element 8*j + t (per ggml block).
void ggml_quantize_mat_q8_0_4x8(const float *x, void *vy, int64_t k);
void ggml_quantize_mat_q8_K_4x8(const float *x, void *vy, int64_t k);

static void check_repack(int is_k, int with_specials) {
    const size_t k = 4096, block = is_k ? 256 : 32, nb = k / block;
    float *x = malloc(4 * k * sizeof(float));
    for (size_t r = 0; r < 4; r++)
        for (size_t b = 0; b < nb; b++) fill_block(x + r * k + b * block, (int)block, (int)(rnd() % (with_specials ? 14 : 3)));
    const size_t bytes = is_k ? nb * (16 + 4 * 256 + 64 * 2) : nb * (8 + 128);
    uint8_t *ref = malloc(bytes);
    if (is_k)
        ggml_quantize_mat_q8_K_4x8(x, ref, (int64_t)k);
    else
        ggml_quantize_mat_q8_0_4x8(x, ref, (int64_t)k);
    int8_t *q = malloc(4 * k);
    float *d = malloc(4 * (k / 32) * sizeof(float));
    int32_t *sum = malloc(4 * (k / 32) * sizeof(int32_t));
    quanta_quantize_acts(x, 4, k, k, is_k ? QUANTA_ACT_Q8_K : QUANTA_ACT_Q8_0, 32, q, d, sum);
    size_t bad = 0, ties = 0;
    for (size_t b = 0; b < nb; b++)
        for (size_t r = 0; r < 4; r++) {
            const uint8_t *blk = ref + b * (bytes / nb);
            float rd;
            const int8_t *qs;
            if (is_k) {
                memcpy(&rd, blk + 4 * r, 4);
                qs = (const int8_t *)(blk + 16);
            } else {
                ggml_fp16_t h;
                memcpy(&h, blk + 2 * r, 2);
                rd = h2f(h);
                qs = (const int8_t *)(blk + 8);
            }
            int ok = f2u(rd) == f2u(d[r * (k / 32) + b * (block / 32)]);
            for (size_t e = 0; e < block && ok; e++)
                ok = qs[32 * (e / 8) + 8 * r + e % 8] == q[r * k + b * block + e];
            if (!ok) {
                bad++;
                // does the block hold +M and -M for its largest magnitude M?
                float m = 0;
                for (size_t e = 0; e < block; e++) m = fabsf(x[r * k + b * block + e]) > m ? fabsf(x[r * k + b * block + e]) : m;
                int pos = 0, neg = 0;
                for (size_t e = 0; e < block; e++) {
                    pos |= x[r * k + b * block + e] == m;
                    neg |= x[r * k + b * block + e] == -m;
                }
                ties += pos && neg;
            }
        }
    char check[64], detail[240];
    snprintf(check, sizeof check, "acts_repack_%s_4x8%s", is_k ? "Q8_K" : "Q8_0", with_specials ? "_specials" : "_random");
    snprintf(detail, sizeof detail, "4 rows x %zu vs ggml_quantize_mat_%s_4x8: %zu of %zu blocks differ (%zu of them hold both +max and -max)",
             k, is_k ? "q8_K" : "q8_0", bad, 4 * nb, ties);
    if (is_k && with_specials)
        // Expected: q8_K_4x8 takes the positive sign when +M and -M tie (q8_K_ref: the first one), and
        // its inf / NaN handling differs; informational, not a check.
        printf("INFO %s %s\n", check, detail);
    else
        report(bad == 0, check, detail);
    free(x), free(ref), free(q), free(d), free(sum);
}

int main(int argc, char **argv) {
    int exhaustive = !(argc > 1 && strcmp(argv[1], "--quick") == 0);
    ggml_cpu_init();
    check_rounding(exhaustive ? 1 : 257);
    for (int specials = 0; specials < 2; specials++) {
        check_acts(GGML_TYPE_Q8_0, QUANTA_ACT_Q8_0, "Q8_0", specials);
        check_acts(GGML_TYPE_Q8_1, QUANTA_ACT_Q8_1, "Q8_1", specials);
        check_acts(GGML_TYPE_Q8_K, QUANTA_ACT_Q8_K, "Q8_K", specials);
        check_repack(0, specials);
        check_repack(1, specials);
    }
    return failures ? 1 : 0;
}
