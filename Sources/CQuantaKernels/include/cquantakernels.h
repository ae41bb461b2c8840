// Row kernels of the engine that need exp: written in C so clang vectorizes them (Swift's
// generic SIMD lowering spilled every lane to the stack, measured 2x slower than scalar expf),
// and compiled for AVX-512, AVX2 and baseline x86-64 with the best chosen at load (target_clones).
#pragma once
#include <stddef.h>

/// In-place softmax of x[0..<count].
void quanta_softmax(float *x, size_t count);

/// gate[i] = silu(gate[i]) * up[i] for i in 0..<count.
void quanta_swiglu(float *gate, const float *up, size_t count);

/// log(sum(exp(x[i]))) computed stably (max subtracted; partial sums flushed to double).
double quanta_log_sum_exp(const float *x, size_t count);
