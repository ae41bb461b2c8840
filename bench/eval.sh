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

"$quanta" eval "$out/f32.gguf" --text "$text" --ctx 512 --chunks 40 --json --quiet > "$out/quanta.json"
read -r quanta_ppl quanta_tps < <(python3 -c "import json; d=json.load(open('$out/quanta.json')); print(d['ppl'], d['tokens_per_second'])")

printf "%-20s %10s %12s\n" tool PPL tokens/s
printf "%-20s %10.4f %12.1f\n" "llama-perplexity" "$llama_ppl" "$llama_tps"
printf "%-20s %10.4f %12.1f\n" "quanta eval" "$quanta_ppl" "$quanta_tps"
echo "ratio (quanta / llama.cpp tokens/s): $(python3 -c "print(round($quanta_tps / $llama_tps, 3))") (target ≥ 0.9)"
