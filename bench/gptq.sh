#!/usr/bin/env bash
# bench/gptq.sh QUANTA_BIN — GPTQ 4-bit, group size 64, symmetric, on the full SmolLM2-135M-Instruct with
# 128 × 512 calibration tokens from data/wikitext-2-calibration.txt: Quanta against GPTQModel 7.7.0 on CPU
# with the same settings and the same calibration windows (bench/gptqmodel_quantize.py reproduces Quanta's
# window draw). One run of each tool per seed (SEEDS). Prints both wall times (whole process: load, tokenize, quantize, write), the
# speed ratio GPTQModel / Quanta (target ≥ 2), peak RSS, and both outputs' perplexity on the shared protocol
# (`quanta eval --ctx 512 --chunks 40`; Quanta reads GPTQModel's checkpoint through its GPTQ importer).
#
# Environment:
#   GPTQMODEL_VENV  venv holding gptqmodel 7.7.0 (default bench/out/venv-gptqmodel; made when missing:
#                   python3 -m venv, pip install -U pip setuptools wheel, then
#                   BUILD_CUDA_EXT=0 pip install --no-build-isolation gptqmodel==7.7.0 — pulls torch, ~3 GB)
#   PYTHON          python3 used to make that venv
#   MODEL           the GGUF to start from (default models/SmolLM2-135M-Instruct.Q4_1.gguf)
#   ACT_ORDER=1     both sides quantize in act-order (--act-order / desc_act=True)
#   MSE=N           both sides search each group's range for the least Σ|w − q|^N (GPTQ's `mse`; default 0)
#   SEEDS           calibration-window seeds, one run of each tool per seed (default "0"); with several the
#                   table ends with the mean PPL and the speed ratio of the summed wall times
#   QUANTA_ARGS     extra flags for Quanta only (e.g. --refit-scales; GPTQModel has no counterpart)
#   BENCH_MAX_LOAD  wait (up to BENCH_LOAD_WAIT s) until the 1-minute load average is below this (default: cores)
set -euo pipefail

QUANTA=${1:?usage: bench/gptq.sh QUANTA_BIN}
[ -x "$QUANTA" ] || { echo "error: $QUANTA is not an executable (run 'make build')" >&2; exit 2; }
QUANTA=$(cd "$(dirname "$QUANTA")" && pwd)/$(basename "$QUANTA")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$HERE/out/gptq
MODEL=${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
VENV=${GPTQMODEL_VENV:-$HERE/out/venv-gptqmodel}
PYTHON=${PYTHON:-python3}
CORES=$(nproc)
BENCH_MAX_LOAD=${BENCH_MAX_LOAD:-$CORES}
BENCH_LOAD_WAIT=${BENCH_LOAD_WAIT:-600}
CALIB=$ROOT/data/wikitext-2-calibration.txt
TEXT=$ROOT/data/wikitext-2-raw-test.txt
BITS=4 GROUP=64 SAMPLES=128 SEQLEN=512 DAMP=0.01
SEEDS=${SEEDS:-0}
ACT_FLAG=() DESC_FLAG=()
if [ "${ACT_ORDER:-0}" = 1 ]; then ACT_FLAG=(--act-order); DESC_FLAG=(--desc-act); fi
# MSE=N: both tools search each group's range for the least Σ|w − q|^N (GPTQ's `mse` option).
MSE=${MSE:-0}
ACT_FLAG+=(--mse "$MSE"); DESC_FLAG+=(--mse "$MSE")
mkdir -p "$OUT"
# torch (GPTQModel) dispatches its CPU kernels from the CPU itself; OpenBLAS (Quanta) does too unless
# OPENBLAS_CORETYPE names a kernel set — this project's dev machine exports OPENBLAS_CORETYPE=Haswell
# on an AVX-512 CPU. Give both tools the CPU's own choice (KEEP_OPENBLAS_CORETYPE=1 keeps the variable).
[ "${KEEP_OPENBLAS_CORETYPE:-0}" = 1 ] || unset OPENBLAS_CORETYPE

# GNU time for peak RSS (Debian package `time`).
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    else
        echo "error: /usr/bin/time is missing: apt-get install time" >&2; exit 2
    fi
fi

# --- GPTQModel's venv and the f32 input, made once (bench/lib-peer.sh) ----------------------------
source "$HERE/lib-peer.sh"
lp_gptqmodel_venv "$VENV"
export GPTQMODEL_CPU_WORKERS=$CORES
HF=$(lp_hf_input)

echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "settings: GPTQ ${BITS}-bit, group size $GROUP, sym, damp $DAMP, true-sequential, ${SAMPLES} × ${SEQLEN} tokens of $(basename "$CALIB"), seed(s) $SEEDS$([ "${ACT_ORDER:-0}" = 1 ] && echo ", act-order"), mse $MSE${QUANTA_ARGS:+, quanta also: $QUANTA_ARGS}"

ROWS=$OUT/results.tsv
: > "$ROWS"
for SEED in $SEEDS; do
    # --- Quanta ---------------------------------------------------------------------------------------
    Q_OUT=$OUT/quanta-out-s$SEED G_OUT=$OUT/gptqmodel-out-s$SEED
    rm -rf "$Q_OUT"
    wait_quiet
    # shellcheck disable=SC2086  # QUANTA_ARGS is a list of flags
    /usr/bin/time -v -o "$OUT/quanta-s$SEED.time" "$QUANTA" quantize --method gptq --reference --bits $BITS --group-size $GROUP --sym \
        --damp $DAMP --calib "$CALIB" --calib-samples $SAMPLES --calib-seqlen $SEQLEN --seed $SEED "${ACT_FLAG[@]}" ${QUANTA_ARGS:-} \
        "$HF" "$Q_OUT" | tee "$OUT/quanta-s$SEED.log"

    # --- GPTQModel ------------------------------------------------------------------------------------
    rm -rf "$G_OUT"
    wait_quiet
    /usr/bin/time -v -o "$OUT/gptqmodel-s$SEED.time" "$VENV/bin/python" "$HERE/gptqmodel_quantize.py" "$HF" "$G_OUT" "$CALIB" \
        --bits $BITS --group-size $GROUP --samples $SAMPLES --seqlen $SEQLEN --seed $SEED --damp $DAMP "${DESC_FLAG[@]}" \
        > "$OUT/gptqmodel-s$SEED.log" 2>&1 || { tail -30 "$OUT/gptqmodel-s$SEED.log"; exit 1; }
    tail -1 "$OUT/gptqmodel-s$SEED.log"

    # --- quality: both on the shared protocol -----------------------------------------------------------
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SEED" "$(wall "$OUT/quanta-s$SEED.time")" "$(rss "$OUT/quanta-s$SEED.time")" "$(ppl "$Q_OUT")" \
        "$(wall "$OUT/gptqmodel-s$SEED.time")" "$(rss "$OUT/gptqmodel-s$SEED.time")" "$(ppl "$G_OUT")" >> "$ROWS"
done

# One line per seed, then the sums of wall time and the mean PPL: the seed of the calibration windows
# moves either tool's PPL by a few tenths on this model, more than the tools differ, so SEEDS="0 1 2"
# compares the tools rather than one draw.
awk -F'\t' '
    BEGIN { printf "\n%-6s %12s %8s %10s %14s %8s %10s\n", "seed", "quanta s", "RSS MB", "PPL", "GPTQModel s", "RSS MB", "PPL" }
    { printf "%-6s %12.1f %8s %10s %14.1f %8s %10s\n", $1, $2, $3, $4, $5, $6, $7; qt += $2; gt += $5; qp += $4; gp += $7; n++ }
    END {
        qp /= n; gp /= n
        if (n > 1) printf "%-6s %12.1f %8s %10.4f %14.1f %8s %10.4f\n", "mean", qt / n, "", qp, gt / n, "", gp
        printf "speed ratio GPTQModel / Quanta = %.2f× (target ≥ 2)\n", gt / qt
        printf "PPL%s: Quanta %.4f vs GPTQModel %.4f (%s)\n", (n > 1 ? " (mean over " n " seeds)" : ""), qp, gp, (qp <= gp ? "equal or better" : "worse")
        exit !(gt / qt >= 2 && qp <= gp)
    }' "$ROWS"
