// GGUF block quantizers, byte-identical with llama.cpp's `ggml_quantize_chunk` (ggml/src/ggml-quants.c
// of the llama.cpp vendored in the llama-cpp-python 0.3.36 sdist, built by x86-64 GCC without FMA
// contraction) — the function `llama-quantize` calls for every tensor.
//
// Every function quantizes `nrows` rows of `n_per_row` floats at `src` into `dst`
// (nrows × row size bytes, the row size being ggml's for the type) and returns the bytes written.
// `imatrix` NULL runs the type's `_ref` algorithm; otherwise it holds `n_per_row` importance
// weights (mean x² per input column, as llama-quantize passes them) and the `_impl` algorithm
// runs — a different search, so the two give different bytes. Rows are independent: callers may
// split a tensor into row ranges across threads.
#pragma once
#include <stddef.h>
#include <stdint.h>

// K-quants (quantize_kquants.c) and the importance-weighted legacy types (their `_ref` paths
// equal Quanta's gguf-py-exact Swift quantizers; only the `_impl` paths live here).
size_t quanta_quantize_q2_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q3_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q4_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q5_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q6_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q4_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q4_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q5_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_q5_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);

// Non-linear 4-bit types (quantize_iq4.c): IQ4_NL as `quantize_iq4_nl` (not its `_ref`), IQ4_XS.
size_t quanta_quantize_iq4_nl(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quanta_quantize_iq4_xs(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
