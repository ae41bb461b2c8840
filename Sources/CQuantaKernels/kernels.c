#include "cquantakernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define QUANTA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QUANTA_CLONES
#endif

// exp(x) for the vectorized loops below, Cephes expf's method: x = n*ln2 + r (Cody-Waite split of
// ln2 so r is exact), e^r by Cephes' degree-6 minimax polynomial, 2^n put in the exponent bits.
// Relative error <= 2 ulp. x is clamped to [-87.3, 88.3] so n stays in [-126, 127] (a finite,
// normal scale); e^-87.3 = 1.2e-38 stands in for underflow, invisible in the f32 sums it feeds.
static inline float quanta_exp(float input) {
    float x = input < -87.3f ? -87.3f : (input > 88.3f ? 88.3f : input);
    // round(x / ln2) via the 1.5 * 2^23 trick (vectorizes; lrintf does not everywhere).
    float shifted = x * 1.44269504088896341f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    int32_t scale_bits = ((bits - 0x4B400000) + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

static inline float quanta_max(const float *x, size_t count) {
    // 16 independent running maxima (a select reduction clang will not vectorize as one chain).
    float lanes[16];
    for (int j = 0; j < 16; j++) lanes[j] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= count; i += 16)
        for (int j = 0; j < 16; j++) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
    float m = -INFINITY;
    for (int j = 0; j < 16; j++) m = lanes[j] > m ? lanes[j] : m;
    for (; i < count; i++) m = x[i] > m ? x[i] : m;
    return m;
}

QUANTA_CLONES
void quanta_softmax(float *x, size_t count) {
#pragma clang fp reassociate(on)  // lets the sums vectorize; order differs only in rounding
    if (count == 0) return;
    float m = quanta_max(x, count);
    float sum = 0;
    for (size_t i = 0; i < count; i++) {
        float e = quanta_exp(x[i] - m);
        x[i] = e;
        sum += e;
    }
    float inverse = 1.0f / sum;
    for (size_t i = 0; i < count; i++) x[i] *= inverse;
}

QUANTA_CLONES
void quanta_swiglu(float *gate, const float *up, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + quanta_exp(-g)) * up[i];
    }
}

QUANTA_CLONES
double quanta_log_sum_exp(const float *x, size_t count) {
#pragma clang fp reassociate(on)  // lets the sums vectorize; order differs only in rounding
    if (count == 0) return -INFINITY;
    float m = quanta_max(x, count);
    double total = 0;
    // Blocks of 1024 summed in f32 lanes, then added in f64 (llama.cpp's perplexity sums in double).
    for (size_t start = 0; start < count; start += 1024) {
        size_t end = start + 1024 < count ? start + 1024 : count;
        float partial = 0;
        for (size_t i = start; i < end; i++) partial += quanta_exp(x[i] - m);
        total += partial;
    }
    return (double)m + log(total);
}
