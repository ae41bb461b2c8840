#!/usr/bin/env bash
# bench/kquant-speed: Quanta's GGUF row quantizers (Sources/CQuantaKernels/quantize_kquants.c +
# quantize_search.c) against llama.cpp's ggml_quantize_chunk from libggml-base.so (the function
# llama-quantize runs on each of its threads), on the same 4096 x 4096 gaussian rows, one thread
# each, with and without an importance matrix; prints CPU seconds (best of REPS), the speedup, and
# whether the bytes are identical (exit 1 if any differ).
# The harness (bench/kernels/kquant_speed.c) is compiled with the Swift toolchain's clang at -O2
# -fPIC and no -march, as SwiftPM compiles the CQuantaKernels target.
# Usage: bench/kquant-speed.sh [QUANTA_BIN (unused; `make bench` passes it)]
#   env: TYPES (default Q2_K,Q4_K,Q6_K; e.g. Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q4_0,Q4_1,Q5_0,Q5_1),
#        ROWS / COLS (default 4096), REPS (default 3), LLAMA_BIN (default vendor/llama.cpp-build/bin).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-$( [ -x /opt/swift/usr/bin/clang ] && echo /opt/swift/usr/bin/clang || echo clang )}
LLAMA_BIN=${LLAMA_BIN:-$ROOT/vendor/llama.cpp-build/bin}
LIB=$LLAMA_BIN/libggml-base.so
[ -f "$LIB" ] || { echo "error: $LIB not found (make compat builds llama.cpp)" >&2; exit 2; }
OUT=$ROOT/bench/out/kquant
mkdir -p "$OUT"
K=$ROOT/Sources/CQuantaKernels
"$CC" -std=gnu11 -O2 -fPIC -Wall -Wextra -I"$K/include" -I"$K" "$ROOT/bench/kernels/kquant_speed.c" \
    "$K/quantize_kquants.c" "$K/quantize_search.c" -o "$OUT/kquant_speed" -ldl -lm

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cc:      $("$CC" --version | head -1)"
echo "ggml:    $LIB"
"$OUT/kquant_speed" "$LIB" "${ROWS:-4096}" "${COLS:-4096}" "${TYPES:-Q2_K,Q4_K,Q6_K}" "${REPS:-3}"
