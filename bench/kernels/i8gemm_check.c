// Checks and times the blocked int8 GEMM (Sources/CQuantaKernels/i8gemm.c, included whole so each ISA
// path can be called directly) against a double-precision reference, and times OpenBLAS sgemm on the
// same shapes. Built and run by bench/kernels/i8gemm.sh.
//   i8gemm_check check   every path × bs {16,32} × min {0,1} × k × rows × n × accumulate × sub-ranges
//   i8gemm_check bench   this GEMM's GFLOP/s (2·T·N·K / time) and quanta_i8_pack's GB/s, T = 512
//   i8gemm_check sgemm   cblas_sgemm's GFLOP/s on the same shapes (one thread)
#define _POSIX_C_SOURCE 200112L
#include "../../Sources/CQuantaKernels/i8gemm.c"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);

static uint64_t rng_state = 1;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }
static float rnd_unit(void) { return (float)(rnd() >> 40) / (float)(1 << 24); }  // [0, 1)

// Thread CPU time: both sides run in this one thread, and the 2-core machine may be shared with
// builds while this runs (on an idle machine it equals the wall time).
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xalloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

typedef struct {
    size_t n, k, rows;
    int bs, has_min;
    int8_t *q;
    float *scale, *min;
    int8_t *qa;
    float *da;
    int32_t *sa;
    void *packed;
} problem;

static void make_problem(problem *P, size_t n, size_t k, size_t rows, int bs, int has_min, int qlo, int qhi) {
    P->n = n, P->k = k, P->rows = rows, P->bs = bs, P->has_min = has_min;
    const size_t nb = k / (size_t)bs;
    P->q = xalloc(n * k);
    P->scale = xalloc(n * nb * sizeof(float));
    P->min = xalloc(n * nb * sizeof(float));
    P->qa = xalloc(rows * k);
    P->da = xalloc(rows * nb * sizeof(float));
    P->sa = xalloc(rows * nb * sizeof(int32_t));
    // Panels get different ranges (so different stored offsets, and on AVX2 wide and narrow panels
    // side by side): the full [qlo, qhi], its lower half, or its non-negative part.
    for (size_t j = 0; j < n; j++) {
        int lo = qlo, hi = qhi;
        if (j / 16 % 3 == 1) hi = qlo + (qhi - qlo) / 2;
        if (j / 16 % 3 == 2 && qhi > 0) lo = qlo > 0 ? qlo : 0;
        for (size_t i = 0; i < k; i++) P->q[j * k + i] = (int8_t)rnd_int(lo, hi);
    }
    for (size_t i = 0; i < n * nb; i++) {
        P->scale[i] = (rnd_unit() * 2 - 1) * 0.02f;
        P->min[i] = (rnd_unit() * 2 - 1) * 0.05f;
    }
    for (size_t t = 0; t < rows; t++) {
        int amp = (int)(t % 5) == 4 ? 3 : 127;  // some small-amplitude rows too
        for (size_t i = 0; i < k; i++) P->qa[t * k + i] = (int8_t)rnd_int(-amp, amp);
        for (size_t b = 0; b < nb; b++) {
            P->da[t * nb + b] = 0.001f + rnd_unit() * 0.1f;
            int32_t s = 0;
            for (int i = 0; i < bs; i++) s += P->qa[t * k + b * (size_t)bs + (size_t)i];
            P->sa[t * nb + b] = s;
        }
    }
    P->packed = xalloc(quanta_i8_packed_size(n, k, bs, has_min));
    quanta_i8_pack(P->q, P->scale, has_min ? P->min : NULL, n, k, bs, has_min, P->packed);
}

static void free_problem(problem *P) {
    free(P->q), free(P->scale), free(P->min), free(P->qa), free(P->da), free(P->sa), free(P->packed);
}

static const char *isa_name(int isa) { return isa == QI8_ISA_AVX512 ? "avx512" : isa == QI8_ISA_AVX2 ? "avx2" : "scalar"; }

static int passed = 0, failed = 0;
static double worst_rel = 0;  // worst |c − reference| / Σ|parts| of the current path
static double worst_f32 = 0;  // the same for a straightforward f32 loop over the blocks

// isa < 0: the public quanta_i8_gemm (dispatch). split: call per range of panels.
static void run_case(int isa, size_t n, size_t k, size_t rows, int bs, int has_min, int accumulate, int split, int qlo,
                     int qhi) {
    problem P;
    make_problem(&P, n, k, rows, bs, has_min, qlo, qhi);
    const size_t ldc = n + 3, nb = k / (size_t)bs;
    {   // every packer (AVX2, AVX-512 transposes) writes the same bytes as the portable one
        const size_t bytes = quanta_i8_packed_size(n, k, bs, has_min);
        void *ref = xalloc(bytes), *other = xalloc(bytes);
        qi8_pack_isa(QI8_ISA_SCALAR, P.q, P.scale, P.min, n, k, bs, has_min, ref);
        for (int pisa = QI8_ISA_AVX2; pisa <= qi8_detect(); pisa++) {
            qi8_pack_isa(pisa, P.q, P.scale, P.min, n, k, bs, has_min, other);
            if (memcmp(ref, other, bytes) != 0) {
                failed++;
                fprintf(stderr, "FAIL pack (%s) differs from the portable pack: bs=%d min=%d n=%zu k=%zu\n",
                        isa_name(pisa), bs, has_min, n, k);
            }
        }
        if (memcmp(ref, P.packed, bytes) != 0) {
            failed++;
            fprintf(stderr, "FAIL quanta_i8_pack differs from the portable pack\n");
        }
        free(ref), free(other);
    }
    float *c = xalloc(rows * ldc * sizeof(float));
    float *c0 = xalloc(rows * ldc * sizeof(float));
    for (size_t i = 0; i < rows * ldc; i++) c0[i] = c[i] = (rnd_unit() * 2 - 1) * 4;
    const size_t np = (n + 15) / 16;
    // Panel ranges [cuts[r], cuts[r+1]): one call each (split: up to three uneven ranges).
    size_t cuts[4] = {0, np, np, np};
    int ncuts = 1;
    if (split && np >= 2) {
        const size_t a = np / 3 > 0 ? np / 3 : 1;
        const size_t b = a + (np - a) / 2;
        cuts[1] = a;
        if (b > a && b < np) cuts[2] = b, ncuts = 3;
        else ncuts = 2;
    }
    for (int r = 0; r < ncuts; r++) {
        const size_t p0 = cuts[r], p1 = cuts[r + 1];
        const size_t j0 = 16 * p0, j1 = 16 * p1 < n ? 16 * p1 : n;
        if (j1 <= j0) continue;
        const uint8_t *pp = (const uint8_t *)P.packed + quanta_i8_packed_size(16 * p0, k, bs, has_min);
        if (isa < 0) quanta_i8_gemm(pp, j1 - j0, k, bs, has_min, P.qa, P.da, P.sa, rows, c + j0, ldc, accumulate);
        else qi8_gemm_isa(isa, pp, j1 - j0, k, bs, has_min, P.qa, P.da, P.sa, rows, c + j0, ldc, accumulate);
    }
    int bad = 0;
    double worst = 0;
    for (size_t t = 0; t < rows && bad < 3; t++) {
        for (size_t j = 0; j < ldc; j++) {
            const float got = c[t * ldc + j];
            if (j >= n) {  // columns past n must be untouched
                if (memcmp(&got, &c0[t * ldc + j], sizeof got) != 0) bad++;
                continue;
            }
            double ref = accumulate ? c0[t * ldc + j] : 0, mag = fabs(ref);
            float f32 = accumulate ? c0[t * ldc + j] : 0;
            for (size_t b = 0; b < nb; b++) {
                long isum = 0;
                for (int i = 0; i < bs; i++)
                    isum += (long)P.qa[t * k + b * (size_t)bs + (size_t)i] * P.q[j * k + b * (size_t)bs + (size_t)i];
                const double d = P.da[t * nb + b];
                const double main = (double)P.scale[j * nb + b] * d * (double)isum;
                const double lin = has_min ? (double)P.min[j * nb + b] * d * (double)P.sa[t * nb + b] : 0;
                ref += main + lin;
                f32 += P.scale[j * nb + b] * P.da[t * nb + b] * (float)isum;
                if (has_min) f32 += P.min[j * nb + b] * P.da[t * nb + b] * (float)P.sa[t * nb + b];
                mag += fabs(main) + fabs(lin);  // the f32 rounding is relative to each part
            }
            const double err = fabs((double)got - ref), tol = 1e-5 * mag + 1e-30;
            if (err / (mag + 1e-30) > worst) worst = err / (mag + 1e-30);
            if (fabs((double)f32 - ref) / (mag + 1e-30) > worst_f32) worst_f32 = fabs((double)f32 - ref) / (mag + 1e-30);
            if (!(err <= tol)) {
                if (bad < 3)
                    fprintf(stderr, "  t=%zu j=%zu got %.9g want %.9g (mag %.3g)\n", t, j, (double)got, ref, mag);
                bad++;
            }
        }
    }
    if (worst > worst_rel) worst_rel = worst;
    if (bad) {
        failed++;
        fprintf(stderr, "FAIL %s bs=%d min=%d n=%zu k=%zu rows=%zu acc=%d split=%d q∈[%d,%d]\n",
                isa < 0 ? "dispatch" : isa_name(isa), bs, has_min, n, k, rows, accumulate, split, qlo, qhi);
    } else {
        passed++;
    }
    free(c), free(c0);
    free_problem(&P);
}

static int check(void) {
    static const int ranges[][2] = {{-8, 7},   {0, 15}, {-16, 15},   {-127, 127}, {-32, 31},
                                    {-4, 3},   {0, 3},  {-127, 113}, {-128, 127}, {-64, 65}};
    const int nranges = (int)(sizeof ranges / sizeof ranges[0]);
    static const size_t ks[] = {32, 64, 576, 1536, 4096};
    static const size_t rowss[] = {1, 3, 16, 512};
    static const size_t ns[] = {1, 17, 45, 100, 16, 33, 50};
    const int best = qi8_detect();
    int counter = 0;
    for (int isa = QI8_ISA_SCALAR; isa <= QI8_ISA_AVX512; isa++) {
        if (isa > best) {
            printf("skip %s: not supported by this CPU\n", isa_name(isa));
            continue;
        }
        const int before = passed + failed, fb = failed;
        worst_rel = 0;
        for (int bs = 16; bs <= 32; bs += 16)
            for (int has_min = 0; has_min <= 1; has_min++)
                for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                    for (size_t ri = 0; ri < sizeof rowss / sizeof rowss[0]; ri++)
                        for (int acc = 0; acc <= 1; acc++) {
                            const size_t k = ks[ki], rows = rowss[ri];
                            size_t n = ns[counter % 7];
                            if (rows * k > 200000 && n > 45) n = 45;  // keep the reference affordable
                            const int *r = ranges[counter % nranges];
                            run_case(isa, n, k, rows, bs, has_min, acc, counter % 3 != 0, r[0], r[1]);
                            counter++;
                        }
        // Small batches: every row count 1…16.
        for (size_t rows = 1; rows <= 16; rows++) {
            const int *r = ranges[counter % nranges];
            run_case(isa, 100, 576, rows, 32, (int)(rows & 1), (int)(rows >> 1 & 1), 1, r[0], r[1]);
            r = ranges[(counter + 3) % nranges];
            run_case(isa, 37, 256, rows, 16, (int)(rows >> 1 & 1), (int)(rows & 1), 0, r[0], r[1]);
            counter++;
        }
        printf("%-7s %d cases, %d failed, worst error %.2g × Σ|parts| (tolerance 1e-5)\n", isa_name(isa),
               passed + failed - before, failed - fb, worst_rel);
    }
    // The public entry point (dispatch) on a few shapes.
    for (int i = 0; i < 8; i++) {
        const int *r = ranges[i % nranges];
        run_case(-1, 16 * (size_t)i + 7, 1536, (size_t)(1 + 37 * i), 16 << (i & 1), i >> 1 & 1, i >> 2 & 1, i & 1, r[0],
                 r[1]);
    }
    printf("dispatch: %s (QUANTA_I8GEMM_ISA caps it); a straightforward f32 loop's worst error: %.2g × Σ|parts|\n",
           isa_name(qi8_isa()), worst_f32);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

static const size_t shapes[][2] = {{1536, 576},  {576, 1536},  {960, 576},   {49152, 576}, {2048, 2048},
                                   {8192, 2048}, {2048, 8192}, {4096, 4096}, {11008, 4096}};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define T 512

// Best time of enough repetitions to cover ≥ 0.4 s (at least 3).
#define TIME_BEST(best, stmt)                                             \
    do {                                                                  \
        stmt;                                                             \
        double total_ = 0;                                                \
        best = 1e30;                                                      \
        for (int rep_ = 0; rep_ < 3 || (total_ < 0.4 && rep_ < 50); rep_++) { \
            double t0_ = now();                                           \
            stmt;                                                         \
            double dt_ = now() - t0_;                                     \
            total_ += dt_;                                                \
            if (dt_ < best) best = dt_;                                   \
        }                                                                 \
    } while (0)

static void bench(void) {
    const int isa = qi8_isa();
    printf("# int8 GEMM path %s, T = %d, one thread; GFLOP/s = 2·T·N·K / best time\n", isa_name(isa), T);
    printf("%-12s %14s %14s %14s %14s\n", "N×K", "bs32 GFLOP/s", "bs16+min", "pack GB/s", "T=1..16 GF/s");
    for (size_t s = 0; s < NSHAPES; s++) {
        const size_t n = shapes[s][0], k = shapes[s][1];
        const double flop = 2.0 * T * (double)n * (double)k;
        double g[2], packgbs = 0, smallg = 0;
        for (int v = 0; v < 2; v++) {
            const int bs = v ? 16 : 32, has_min = v;
            problem P;
            make_problem(&P, n, k, T, bs, has_min, v ? 0 : -8, v ? 3 : 7);
            float *c = xalloc((size_t)T * n * sizeof(float));
            double best;
            TIME_BEST(best, quanta_i8_gemm(P.packed, n, k, bs, has_min, P.qa, P.da, P.sa, T, c, n, 0));
            g[v] = flop / best * 1e-9;
            if (v == 0) {
                TIME_BEST(best, quanta_i8_pack(P.q, P.scale, NULL, n, k, bs, has_min, P.packed));
                packgbs = (double)n * (double)k / best * 1e-9;
                // small batches: T = 1, 2, 4, 8, 16 summed
                double tsum = 0, fsum = 0;
                for (size_t rows = 1; rows <= 16; rows *= 2) {
                    TIME_BEST(best, quanta_i8_gemm(P.packed, n, k, bs, has_min, P.qa, P.da, P.sa, rows, c, n, 0));
                    tsum += best;
                    fsum += 2.0 * (double)rows * (double)n * (double)k;
                }
                smallg = fsum / tsum * 1e-9;
            }
            free(c);
            free_problem(&P);
        }
        char name[32];
        snprintf(name, sizeof name, "%zu×%zu", n, k);
        printf("%-12s %14.1f %14.1f %14.1f %14.1f\n", name, g[0], g[1], packgbs, smallg);
        fflush(stdout);
    }
}

static void sgemm_bench(void) {
    openblas_set_num_threads(1);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("# OpenBLAS sgemm, core %s (OPENBLAS_CORETYPE=%s), one thread\n", openblas_get_corename(), ct ? ct : "unset");
    for (size_t s = 0; s < NSHAPES; s++) {
        const size_t n = shapes[s][0], k = shapes[s][1];
        float *x = xalloc((size_t)T * k * sizeof(float)), *w = xalloc(n * k * sizeof(float)),
              *c = xalloc((size_t)T * n * sizeof(float));
        for (size_t i = 0; i < (size_t)T * k; i++) x[i] = rnd_unit() - 0.5f;
        for (size_t i = 0; i < n * k; i++) w[i] = rnd_unit() - 0.5f;
        double best;
        TIME_BEST(best, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, (int)n, (int)k, 1.0f, x, (int)k, w,
                                    (int)k, 0.0f, c, (int)n));
        char name[32];
        snprintf(name, sizeof name, "%zu×%zu", n, k);
        printf("%-12s %14.1f\n", name, 2.0 * T * (double)n * (double)k / best * 1e-9);
        fflush(stdout);
        free(x), free(w), free(c);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "check";
    if (strcmp(mode, "check") == 0) return check();
    if (strcmp(mode, "bench") == 0) {
        bench();
        return 0;
    }
    if (strcmp(mode, "sgemm") == 0) {
        sgemm_bench();
        return 0;
    }
    fprintf(stderr, "usage: %s check|bench|sgemm\n", argv[0]);
    return 2;
}
