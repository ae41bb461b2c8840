#!/usr/bin/env bash
# bench/gguf-eval: the quality table of docs/quantization.md for every GGUF type Quanta writes:
# SmolLM2 F32 (llama-quantize's F32 of the shipped Q4_1) quantized by `quanta quantize --method gguf`
# (byte-identical to llama-quantize, see bench/gguf-quantize.sh) with and without an importance
# matrix, then scored by `quanta eval` against the F32 file on the shared protocol (wikitext-2-raw
# test, ctx 512, 40 chunks): bits/weight (tensor bytes × 8 / elements, llama-quantize's BPW), PPL,
# mean KLD, top-1 agreement. LLAMA_PPL=1 adds llama-perplexity's PPL of each file.
# Usage: bench/gguf-eval.sh QUANTA_BIN [LLAMA_BIN_DIR]
# Environment: TYPES (default "Q2_K Q3_K_M Q4_K_S Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS Q4_0 Q8_0"),
# IMATRIX (default bench/out/gguf-eval/llama-imatrix-128.gguf: llama-imatrix, 128 × 512 tokens of
# data/wikitext-2-calibration.txt, made here when missing), CHUNKS (default 40).
set -euo pipefail
quanta=$(realpath "${1:?usage: bench/gguf-eval.sh QUANTA_BIN [LLAMA_BIN_DIR]}")
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
bin=$(realpath "${2:-$root/vendor/llama.cpp-build/bin}")
export LD_LIBRARY_PATH="$bin:${LD_LIBRARY_PATH:-}"
types=(${TYPES:-Q2_K Q3_K_M Q4_K_S Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS Q4_0 Q8_0}); chunks=${CHUNKS:-40}
out=$root/bench/out/gguf-eval; mkdir -p "$out"
text=$root/data/wikitext-2-raw-test.txt
f32=$root/bench/out/eval-quant/f32.gguf
[ -f "$f32" ] || { mkdir -p "$(dirname "$f32")"; "$bin/llama-quantize" --allow-requantize models/SmolLM2-135M-Instruct.Q4_1.gguf "$f32" F32 >/dev/null 2>&1; }
imatrix=${IMATRIX:-$out/llama-imatrix-128.gguf}
if [ ! -f "$imatrix" ]; then
    "$bin/llama-imatrix" -m "$f32" -f data/wikitext-2-calibration.txt -c 512 --chunks 128 -t 2 -o "$imatrix" --no-ppl >"$out/llama-imatrix.log" 2>&1
fi
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "imatrix: $imatrix"
echo
printf "| %-16s | %7s | %12s | %8s | %8s | %7s |%s\n" type bits/w bytes PPL KLD "top-1 %" "${LLAMA_PPL:+ llama PPL |}"
printf "|%s|%s|%s|%s|%s|%s|%s\n" ------------------ --------- -------------- ---------- ---------- --------- "${LLAMA_PPL:+------------|}"
for type in "${types[@]}"; do
    for variant in plain imatrix; do
        lt=$(echo "$type" | tr 'A-Z' 'a-z'); label=$type; flags=()
        [ "$variant" = imatrix ] && { label="$type +imatrix"; flags=(--imatrix "$imatrix"); }
        file=$out/$lt-$variant.gguf
        q=$("$quanta" quantize --quiet --json --method gguf --type "$lt" "${flags[@]}" --force "$f32" "$file")
        e=$("$quanta" eval "$file" --baseline "$f32" --text "$text" --ctx 512 --chunks "$chunks" --json --quiet)
        lp=""
        if [ -n "${LLAMA_PPL:-}" ]; then
            lp=$("$bin/llama-perplexity" -m "$file" -f "$text" -c 512 --chunks "$chunks" -t 2 2>&1 | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p')
            lp=" $lp |"
        fi
        python3 -c "
import json, sys
q = json.loads(sys.argv[1]); e = json.loads(sys.argv[2])
print(f\"| {sys.argv[3]:<16} | {q['bits_per_weight']:7.3f} | {q['bytes']:12,d} | {e['ppl']:8.4f} | {e['kld_mean']:8.5f} | {100*e['top1_agreement']:7.2f} |{sys.argv[4]}\")
" "$q" "$e" "$label" "$lp"
        rm -f "$file"
    done
done
