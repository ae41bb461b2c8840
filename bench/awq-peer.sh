#!/usr/bin/env bash
# bench/awq-peer.sh QUANTA_BIN — AWQ 4-bit, group size 64, asymmetric (zero point), 20 grid points, on the full
# SmolLM2-135M-Instruct with SAMPLES × 512 calibration tokens of data/wikitext-2-calibration.txt (seed 0):
# Quanta against GPTQModel 7.7.0's AWQ on CPU with the same model, the same calibration windows
# (bench/awq_peer_quantize.py reproduces Quanta's window draw), bits and group size. Prints both wall times
# (whole process: load, tokenize, quantize, write), the speed ratio GPTQModel / Quanta (target ≥ 2), peak RSS,
# and both outputs' perplexity on the shared protocol (`quanta eval --ctx 512 --chunks 40`). Both write
# AutoAWQ's GEMM layout (qweight/qzeros/scales, quant_method awq), which Quanta evaluates as stored.
#
# Why not llm-compressor (0.14.0.1, AWQModifier): on a machine without an NVIDIA driver it stops in
# AWQModifier._apply_smoothing → IntermediatesCache.pin_memory → Tensor.pin_memory() with
# "RuntimeError: Found no NVIDIA driver on your system" (bench/awq_peer_quantize.py --peer llmcompressor
# still drives it, for a machine that has one).
#
# What differs between the two sides, by each tool's defaults (GPTQModel: gptqmodel/looper/awq_processor.py):
#   scale search  Quanta: s = mean|x|^α (the paper's; --awq-duo-scaling for AutoAWQ's), α = k/20, k = 0…19, all
#                 20 scored by default (--awq-grid-stride 1; builds before it scored ~9 coarse to fine); q/k/v
#                 scored on 8 whole windows (--awq-search-windows), gate/up, down (and o) on 4096 tokens strided
#                 over all windows (--awq-search-tokens).
#                 GPTQModel: duo scaling s = mean|x|^α / mean|ŵ|^(1−α), α = k/20, k = 0…19 (fixed), every grid
#                 point scored on every calibration token.
#   clipping      both: AutoAWQ's clip search (max|w|·(1 − i/20), i < 10, on every linear but q/k, ~512
#                 sampled tokens); Quanta strides coprime to the window length, GPTQModel every ⌊n/512⌋-th token.
#   precision     Quanta: f32 throughout, f16 scales. GPTQModel: loads the f32 input as bfloat16 (its default
#                 dtype, auto) and calibrates and saves in bf16 (embeddings, norms and the AWQ scales too).
#   o_proj        neither scales it (v_proj 192 × 576 vs o_proj 576 × 576).
#
# Environment:
#   SAMPLES         calibration windows of 512 tokens, both sides (default 128; e.g. SAMPLES=32 for a quick run)
#   PEER_VENV       venv holding gptqmodel 7.7.0 (default bench/out/venv-awq-peer; made when missing:
#                   python3 -m venv, pip install -U pip setuptools wheel, then
#                   BUILD_CUDA_EXT=0 pip install --no-build-isolation gptqmodel==7.7.0 — pulls torch, ~5 GB)
#   PYTHON          python3 used to make that venv
#   MODEL           the GGUF to start from (default models/SmolLM2-135M-Instruct.Q4_1.gguf)
#   PEER_ARGS       extra flags for the peer only (e.g. "--dtype float32")
#   QUANTA_ARGS     extra flags for Quanta only (e.g. --awq-duo-scaling, --awq-no-clip)
#   BENCH_MAX_LOAD  wait (up to BENCH_LOAD_WAIT s) until the 1-minute load average is below this (default: cores)
set -euo pipefail

QUANTA=${1:?usage: bench/awq-peer.sh QUANTA_BIN}
[ -x "$QUANTA" ] || { echo "error: $QUANTA is not an executable (run 'make build')" >&2; exit 2; }
QUANTA=$(cd "$(dirname "$QUANTA")" && pwd)/$(basename "$QUANTA")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$HERE/out/awq-peer
MODEL=${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
VENV=${PEER_VENV:-$HERE/out/venv-awq-peer}
PYTHON=${PYTHON:-python3}
CORES=$(nproc)
BENCH_MAX_LOAD=${BENCH_MAX_LOAD:-$CORES}
BENCH_LOAD_WAIT=${BENCH_LOAD_WAIT:-600}
CALIB=$ROOT/data/wikitext-2-calibration.txt
TEXT=$ROOT/data/wikitext-2-raw-test.txt
BITS=4 GROUP=64 SEQLEN=512 SEED=0 GRID=20
SAMPLES=${SAMPLES:-128}
mkdir -p "$OUT"
# torch dispatches its CPU kernels from the CPU itself; OpenBLAS (Quanta) does too unless OPENBLAS_CORETYPE
# names a kernel set. Give both tools the CPU's own choice (KEEP_OPENBLAS_CORETYPE=1 keeps the variable).
[ "${KEEP_OPENBLAS_CORETYPE:-0}" = 1 ] || unset OPENBLAS_CORETYPE

# GNU time for peak RSS (Debian package `time`).
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    else
        echo "error: /usr/bin/time is missing: apt-get install time" >&2; exit 2
    fi
fi

# --- the peer's venv (made once) -----------------------------------------------------------------
source "$HERE/lib-peer.sh"
lp_gptqmodel_venv "$VENV"
export GPTQMODEL_CPU_WORKERS=$CORES
HF=$(lp_hf_input)

TAG=n$SAMPLES
Q_OUT=$OUT/quanta-$TAG P_OUT=$OUT/peer-$TAG
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "versions: quanta $("$QUANTA" --version 2>&1 | head -1); $("$VENV/bin/python" -c 'import importlib.metadata as m; print(", ".join(p + " " + m.version(p) for p in ("gptqmodel", "torch", "transformers")))')"
echo "settings: AWQ ${BITS}-bit, group size $GROUP, asymmetric, n_grid $GRID, ${SAMPLES} × ${SEQLEN} tokens of $(basename "$CALIB"), seed $SEED${QUANTA_ARGS:+, quanta also: $QUANTA_ARGS}${PEER_ARGS:+, peer also: $PEER_ARGS}"

# --- Quanta ---------------------------------------------------------------------------------------
rm -rf "$Q_OUT"
wait_quiet
# shellcheck disable=SC2086  # QUANTA_ARGS is a list of flags
/usr/bin/time -v -o "$OUT/quanta-$TAG.time" "$QUANTA" quantize --method awq --bits $BITS --group-size $GROUP \
    --awq-grid $GRID --calib "$CALIB" --calib-samples $SAMPLES --calib-seqlen $SEQLEN --seed $SEED ${QUANTA_ARGS:-} \
    "$HF" "$Q_OUT" > "$OUT/quanta-$TAG.log" 2>&1 || { tail -30 "$OUT/quanta-$TAG.log"; exit 1; }
tail -3 "$OUT/quanta-$TAG.log"

# --- GPTQModel ------------------------------------------------------------------------------------
rm -rf "$P_OUT"
wait_quiet
# shellcheck disable=SC2086  # PEER_ARGS is a list of flags
/usr/bin/time -v -o "$OUT/peer-$TAG.time" "$VENV/bin/python" "$HERE/awq_peer_quantize.py" "$HF" "$P_OUT" "$CALIB" \
    --peer gptqmodel --bits $BITS --group-size $GROUP --samples $SAMPLES --seqlen $SEQLEN --seed $SEED ${PEER_ARGS:-} \
    > "$OUT/peer-$TAG.log" 2>&1 || { tail -30 "$OUT/peer-$TAG.log"; exit 1; }
tail -1 "$OUT/peer-$TAG.log"

# --- quality: both on the shared protocol -----------------------------------------------------------
[ -s "$OUT/f32.ppl" ] || ppl "$HF" > "$OUT/f32.ppl"
QW=$(wall "$OUT/quanta-$TAG.time") QR=$(rss "$OUT/quanta-$TAG.time") QP=$(ppl "$Q_OUT")
PW=$(wall "$OUT/peer-$TAG.time") PR=$(rss "$OUT/peer-$TAG.time") PP=$(ppl "$P_OUT")
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SAMPLES" "$QW" "$QR" "$QP" "$PW" "$PR" "$PP" "$(cat "$OUT/f32.ppl")" > "$OUT/results-$TAG.tsv"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

awk -F'\t' '
    {
        printf "\n%-28s %10s %12s %10s\n", "tool (" $1 " × 512 tokens)", "wall s", "peak RSS MB", "PPL"
        printf "%-28s %10.1f %12s %10s\n", "Quanta", $2, $3, $4
        printf "%-28s %10.1f %12s %10s\n", "GPTQModel 7.7.0 AWQ", $5, $6, $7
        printf "%-28s %10s %12s %10s\n", "(f32 input)", "", "", $8
        printf "speed ratio GPTQModel / Quanta = %.2f× (target ≥ 2)\n", $5 / $2
        printf "PPL: Quanta %.4f vs GPTQModel %.4f (%s)\n", $4, $7, ($4 <= $7 ? "equal or lower" : "higher")
        exit !($5 / $2 >= 2 && $4 <= $7)
    }' "$OUT/results-$TAG.tsv"
