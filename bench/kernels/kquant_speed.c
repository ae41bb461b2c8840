// bench/kquant-speed.sh's harness: Quanta's GGUF row quantizers (quantize_kquants.c) against
// llama.cpp's ggml_quantize_chunk (libggml-base.so, loaded with dlopen) on the same rows, one thread
// each, and a byte comparison of the two outputs.
// Each side runs `reps` times, alternating, and the fastest run counts.
// Usage: kquant_speed LIBGGML_BASE_SO [rows] [cols] [types, comma separated] [reps]
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cquantaquantize.h"

typedef size_t (*chunk_fn)(int, const float *, void *, int64_t, int64_t, int64_t, const float *);
typedef size_t (*row_size_fn)(int, int64_t);
typedef size_t (*ours_fn)(const float *, void *, int64_t, int64_t, const float *);

static const struct { const char *name; int ggml_type; ours_fn ours; } kTypes[] = {
    {"Q2_K", 10, quanta_quantize_q2_K}, {"Q3_K", 11, quanta_quantize_q3_K}, {"Q4_K", 12, quanta_quantize_q4_K},
    {"Q5_K", 13, quanta_quantize_q5_K}, {"Q6_K", 14, quanta_quantize_q6_K}, {"Q4_0", 2, quanta_quantize_q4_0},
    {"Q4_1", 3, quanta_quantize_q4_1},  {"Q5_0", 6, quanta_quantize_q5_0},  {"Q5_1", 7, quanta_quantize_q5_1},
};

static uint64_t state = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return ((state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static float gaussian(void) { return (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform())); }

// Thread CPU time: the machine may be shared, and only time on a core is comparable.
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s libggml-base.so [rows] [cols] [types]\n", argv[0]); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    chunk_fn chunk = (chunk_fn)dlsym(lib, "ggml_quantize_chunk");
    row_size_fn row_size = (row_size_fn)dlsym(lib, "ggml_row_size");
    const int64_t rows = argc > 2 ? atoll(argv[2]) : 4096, cols = argc > 3 ? atoll(argv[3]) : 4096;
    const char *wanted = argc > 4 ? argv[4] : "Q2_K,Q4_K,Q6_K";
    const int reps = argc > 5 ? atoi(argv[5]) : 3;

    float *x = malloc(sizeof(float) * rows * cols), *imatrix = malloc(sizeof(float) * cols);
    for (int64_t i = 0; i < rows * cols; i++) x[i] = gaussian() * 0.02f;
    for (int64_t i = 0; i < cols; i++) imatrix[i] = expf(gaussian());
    int failures = 0;
    printf("%lld x %lld gaussian f32, one thread each, CPU seconds (best of %d)\n", (long long)rows,
           (long long)cols, reps);
    printf("%-14s %10s %10s %9s  %s\n", "type", "ggml s", "quanta s", "speedup", "bytes");
    for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
        if (!strstr(wanted, kTypes[t].name)) continue;
        for (int with = 0; with < 2; with++) {
            const float *w = with ? imatrix : NULL;
            const size_t bytes = row_size(kTypes[t].ggml_type, cols) * rows;
            uint8_t *a = malloc(bytes), *b = malloc(bytes);
            memset(a, 0, bytes); memset(b, 0xff, bytes);  // touch the pages before timing
            double ggml_s = 1e30, ours_s = 1e30;
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                chunk(kTypes[t].ggml_type, x, a, 0, rows, cols, w);
                double t1 = now();
                kTypes[t].ours(x, b, rows, cols, w);
                double t2 = now();
                if (t1 - t0 < ggml_s) ggml_s = t1 - t0;
                if (t2 - t1 < ours_s) ours_s = t2 - t1;
            }
            const int same = memcmp(a, b, bytes) == 0;
            failures += !same;
            char label[32];
            snprintf(label, sizeof label, "%s%s", kTypes[t].name, with ? "+imatrix" : "");
            printf("%-14s %10.3f %10.3f %8.2fx  %s\n", label, ggml_s, ours_s, ggml_s / ours_s,
                   same ? "identical" : "DIFFER");
            free(a); free(b);
        }
    }
    return failures ? 1 : 0;
}
