// Timing loop for check_weight_kernels.py: calls a tile decoder repeatedly on one cache-resident
// tile (as the engine does: decode a panel, hand it to sgemm) and returns seconds per call.
// Compiled into the same throwaway .so as Sources/CQuantaKernels/weights_*.c.
#define _POSIX_C_SOURCE 199309L  // clock_gettime under -std=c11
#include <stddef.h>
#include <time.h>

typedef void (*quanta_bench_decoder)(const void *src, float *dst, size_t n);

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double quanta_bench_decode(quanta_bench_decoder fn, const void *src, float *dst, size_t n, double min_seconds) {
    for (int i = 0; i < 3; i++) fn(src, dst, n);  // warm caches and the ifunc resolver
    size_t calls = 0;
    const double start = now_seconds();
    double elapsed = 0;
    do {
        for (int i = 0; i < 16; i++) fn(src, dst, n);
        calls += 16;
        elapsed = now_seconds() - start;
    } while (elapsed < min_seconds);
    return elapsed / (double)calls;
}
