#!/usr/bin/env bash
# bench/kernels/i8gemm.sh — the blocked int8 GEMM (Sources/CQuantaKernels/i8gemm.c):
#   1. builds bench/kernels/i8gemm_check.c with clang -O3 (it includes i8gemm.c whole);
#   2. checks every ISA path this CPU has (scalar, AVX2, AVX-512 VNNI) and the public dispatch against a
#      double-precision reference: bs 16/32, with and without min, n not a multiple of 16, k in
#      {32, 64, 576, 1536, 4096}, rows in {1, 3, 16, 512} and 1…16, accumulate on/off, calls on
#      sub-ranges of panels — printing "N passed, M failed" (exit 1 on any failure);
#   3. times it (T = 512 tokens, one thread) against OpenBLAS cblas_sgemm on the same shapes, with
#      OPENBLAS_CORETYPE=Haswell and with the core OpenBLAS detects itself; GFLOP/s = 2·T·N·K / time
#      (thread CPU time, best of ≥ 3 runs), plus quanta_i8_pack's speed in GB/s of int8 input.
# Usage: bench/kernels/i8gemm.sh [check|bench|all]   (default all). Needs libopenblas-dev.
# CC (env) picks the compiler (default: the Swift toolchain's clang, which SwiftPM uses).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODE=${1:-all}
CC=${CC:-$( [ -x /opt/swift/usr/bin/clang ] && echo /opt/swift/usr/bin/clang || echo clang )}
OUT=$ROOT/bench/out/kernels
mkdir -p "$OUT"
pkg-config --exists openblas || { echo "error: OpenBLAS not found (apt-get install libopenblas-dev)" >&2; exit 2; }

"$CC" -std=c11 -O3 -Wall -Wextra -I"$ROOT/Sources/CQuantaKernels/include" $(pkg-config --cflags openblas) \
    "$HERE/i8gemm_check.c" -o "$OUT/i8gemm_check" $(pkg-config --libs openblas) -lm

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cc:      $("$CC" --version | head -1)"

if [ "$MODE" = check ] || [ "$MODE" = all ]; then
    echo
    echo "== check"
    "$OUT/i8gemm_check" check
fi

if [ "$MODE" = bench ] || [ "$MODE" = all ]; then
    echo
    echo "== bench"
    "$OUT/i8gemm_check" bench | tee "$OUT/i8gemm-ours.txt" | grep '^#'
    OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 "$OUT/i8gemm_check" sgemm > "$OUT/i8gemm-sgemm-haswell.txt"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 "$OUT/i8gemm_check" sgemm > "$OUT/i8gemm-sgemm-detected.txt"
    grep '^#' "$OUT/i8gemm-sgemm-haswell.txt" "$OUT/i8gemm-sgemm-detected.txt" | sed 's/^[^:]*://'
    echo
    awk '
        FNR == 1 { file++ }
        /^#/ || /^N×K/ { next }
        file == 1 { order[++count] = $1; bs32[$1] = $2; bs16[$1] = $3; pack[$1] = $4; small[$1] = $5 }
        file == 2 { haswell[$1] = $2 }
        file == 3 { detected[$1] = $2 }
        END {
            printf "%-12s %10s %10s %10s %10s %9s %9s %10s %12s\n", "N×K", "int8 bs32", "bs16+min", "sgemm-Hsw", \
                   "sgemm-det", "bs32/Hsw", "bs32/det", "pack GB/s", "T≤16 GF/s"
            for (i = 1; i <= count; i++) {
                s = order[i]
                printf "%-12s %10.1f %10.1f %10.1f %10.1f %8.2f× %8.2f× %10.1f %12.1f\n", s, bs32[s], bs16[s], \
                       haswell[s], detected[s], bs32[s] / haswell[s], bs32[s] / detected[s], pack[s], small[s]
            }
        }' "$OUT/i8gemm-ours.txt" "$OUT/i8gemm-sgemm-haswell.txt" "$OUT/i8gemm-sgemm-detected.txt"
    echo "(GFLOP/s = 2·512·N·K / time; int8 bs32 = q ∈ [−8, 7] blocks of 32 without min (Q4_0-like), bs16+min ="
    echo " q ∈ [0, 3] blocks of 16 with min (Q2_K-like); T≤16 = T = 1, 2, 4, 8, 16 together)"
fi
