#!/usr/bin/env bash
# bench/imatrix: llama-imatrix against `quanta imatrix` on SmolLM2's F32 GGUF, one run each on the
# same text and settings (data/wikitext-2-calibration.txt, -c 512, --chunks 128, 2 threads):
# wall time of each (model load included) and their ratio, peak RSS, then every value of every
# entry's mean x² compared (bench/imatrix-compare.py: median / p99 / max relative difference).
# Usage: bench/imatrix.sh QUANTA_BIN [LLAMA_BIN_DIR]
# Environment: CHUNKS=N (default 128), THREADS=N (default 2), PYTHON (with gguf-py; default venv-ref/bin/python).
# The F32 file is made once by `llama-quantize --allow-requantize … F32` into bench/out/imatrix/.
# Exit status: that of the comparison (0 when median ≤ 1e-3 and p99 ≤ 1e-2, names and counts equal).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quanta=$(realpath "${1:?usage: bench/imatrix.sh QUANTA_BIN [LLAMA_BIN_DIR]}")
bin=$(realpath "${2:-$root/vendor/llama.cpp-build/bin}")
python=${PYTHON:-$root/venv-ref/bin/python}
chunks=${CHUNKS:-128}; threads=${THREADS:-2}
export LD_LIBRARY_PATH="$bin:${LD_LIBRARY_PATH:-}"
out=$root/bench/out/imatrix; mkdir -p "$out"
cd "$root"
text=data/wikitext-2-calibration.txt
f32=$out/smollm2-f32.gguf
[ -f "$f32" ] || "$bin/llama-quantize" --allow-requantize models/SmolLM2-135M-Instruct.Q4_1.gguf "$f32" F32 > "$out/quantize.log" 2>&1
now() { date +%s.%N; }
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input:   $f32, $text, ctx 512, $chunks chunks, $threads threads"

t0=$(now)
/usr/bin/time -f "%M" -o "$out/llama.rss" "$bin/llama-imatrix" -m "$f32" -f "$text" -c 512 --chunks "$chunks" -t "$threads" \
    -o "$out/llama.imatrix.gguf" > "$out/llama.log" 2>&1
t1=$(now); llama_s=$(echo "$t1 - $t0" | bc -l)

t0=$(now)
/usr/bin/time -f "%M" -o "$out/quanta.rss" "$quanta" imatrix "$f32" --calib "$text" --ctx 512 --chunks "$chunks" \
    --threads "$threads" -o "$out/quanta.imatrix.gguf" --force --quiet > "$out/quanta.log" 2>&1
t1=$(now); quanta_s=$(echo "$t1 - $t0" | bc -l)

printf "%-16s %9s %9s %10s\n" "tool" "seconds" "peak MB" "vs quanta"
printf "%-16s %9.1f %9d %10s\n" "quanta imatrix" "$quanta_s" "$(( $(cat "$out/quanta.rss") / 1024 ))" "1.00×"
printf "%-16s %9.1f %9d %9.2f×\n" "llama-imatrix" "$llama_s" "$(( $(cat "$out/llama.rss") / 1024 ))" "$(echo "$llama_s / $quanta_s" | bc -l)"
echo "(ratio > 1: quanta is faster)"
"$python" "$root/bench/imatrix-compare.py" "$out/quanta.imatrix.gguf" "$out/llama.imatrix.gguf"
