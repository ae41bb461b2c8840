#!/usr/bin/env bash
# bench/eval: tokens/s of `quanta eval` against `llama-perplexity -t 2` on SmolLM2 in F32, the shared
# protocol (wikitext-2 test, ctx 512, 40 chunks), one run each, same machine, printed as a ratio.
# Usage: bench/eval.sh QUANTA_BIN [LLAMA_BIN_DIR]
set -euo pipefail
quanta=$(realpath "$1"); bin=$(realpath "${2:-vendor/llama.cpp-build/bin}")
root=$(cd "$(dirname "$0")/.." && pwd); model=$root/models/SmolLM2-135M-Instruct.Q4_1.gguf
text=$root/data/wikitext-2-raw-test.txt
out=$root/bench/out/eval; mkdir -p "$out"
export LD_LIBRARY_PATH="$bin:${LD_LIBRARY_PATH:-}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$out/f32.gguf" ] || "$bin/llama-quantize" --allow-requantize "$model" "$out/f32.gguf" F32 >/dev/null 2>&1

"$bin/llama-perplexity" -m "$out/f32.gguf" -f "$text" -c 512 --chunks 40 -t 2 > "$out/llama.log" 2>&1
llama_ppl=$(grep -E "Final estimate" "$out/llama.log" | sed -E 's/.*PPL = ([0-9.]+).*/\1/')
# Evaluation time from llama.cpp's log timestamps (M.SS.mmm.uuu): "calculating perplexity" → "Final estimate",
# i.e. after the model load, as our tokens/s counts only the evaluation.
llama_tps=$(python3 - "$out/llama.log" <<'PY'
import re, sys
stamps = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+) ", line)
    if not m:
        continue
    t = int(m[1]) * 60 + int(m[2]) + int(m[3]) / 1e3 + int(m[4]) / 1e6
    if "calculating perplexity" in line: stamps["start"] = t
    if "Final estimate" in line: stamps["end"] = t
print(40 * 512 / (stamps["end"] - stamps["start"]))
PY
)

# OpenBLAS picks its kernels from the CPU at load unless OPENBLAS_CORETYPE names a set; some machines
# export one (this project's dev machine sets OPENBLAS_CORETYPE=Haswell, AVX2 only, on an AVX-512 CPU,
# while llama.cpp is built -march=native). So quanta runs as the environment says and, if the
# variable is set, once more with OpenBLAS's own CPU detection — both printed, nothing hidden.
run_quanta() {
    "$@" "$quanta" eval "$out/f32.gguf" --text "$text" --ctx 512 --chunks 40 --json --quiet > "$out/quanta.json"
    python3 -c "import json; d=json.load(open('$out/quanta.json')); print(d['ppl'], d['tokens_per_second'], d.get('blas_kernels', '?'))"
}
rows=()
read -r p t k < <(run_quanta env); rows+=("$p $t $k as-is")
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    read -r p t k < <(run_quanta env -u OPENBLAS_CORETYPE); rows+=("$p $t $k detected")
fi

printf "%-60s %10s %12s %8s\n" tool PPL tokens/s ratio
printf "%-60s %10.4f %12.1f\n" "llama-perplexity -t 2" "$llama_ppl" "$llama_tps"
for row in "${rows[@]}"; do
    read -r p t k how <<<"$row"
    label="quanta eval (OpenBLAS $k, $([ "$how" = as-is ] && echo "${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}" || echo "CPU-detected"))"
    printf "%-60s %10.4f %12.1f %8.3f\n" "$label" "$p" "$t" "$(python3 -c "print($t / $llama_tps)")"
done
echo "ratio = quanta / llama.cpp tokens/s (target ≥ 0.9)"
