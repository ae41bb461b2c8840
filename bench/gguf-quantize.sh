#!/usr/bin/env bash
# bench/gguf-quantize: `quanta quantize --method gguf` against llama.cpp's `llama-quantize` on the
# same input, one run each, same machine: seconds, peak RSS, their ratio, and whether the two
# files are byte-identical (cmp).
# Usage: bench/gguf-quantize.sh QUANTA_BIN [LLAMA_BIN_DIR]
# Inputs: SmolLM2 F32 (llama-quantize's F32 of the shipped Q4_1, cached in bench/out/eval-quant/)
# and, when present, the synthetic 1B BF16 GGUF of bench/eval-quant-synthetic.sh
# (bench/out/synthetic-1b/synth-bf16.gguf). Environment: TYPES (default "Q4_K_M Q6_K IQ4_XS"),
# IMATRIX=path (adds an "+imatrix" run of each type with that matrix; default: the committed
# fixtures/gguf-mixes/smollm2-imatrix.gguf for SmolLM2), THREADS (default 2).
set -euo pipefail
quanta=$(realpath "${1:?usage: bench/gguf-quantize.sh QUANTA_BIN [LLAMA_BIN_DIR]}")
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
bin=$(realpath "${2:-$root/vendor/llama.cpp-build/bin}")
export LD_LIBRARY_PATH="$bin:${LD_LIBRARY_PATH:-}"
types=(${TYPES:-Q4_K_M Q6_K IQ4_XS}); threads=${THREADS:-2}
out=$root/bench/out/gguf-quantize; mkdir -p "$out"
now() { date +%s.%N; }
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

smol=$root/bench/out/eval-quant/f32.gguf
if [ ! -f "$smol" ]; then
    mkdir -p "$(dirname "$smol")"
    "$bin/llama-quantize" --allow-requantize "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol" F32 >/dev/null 2>&1
fi
inputs=("smollm2:$smol")
[ -f "$root/bench/out/synthetic-1b/synth-bf16.gguf" ] && inputs+=("synthetic-1b:$root/bench/out/synthetic-1b/synth-bf16.gguf")

# run LABEL CMD... — seconds and peak RSS (MB) of one command into $secs / $rss.
run() {
    local label=$1; shift
    local t0 t1; t0=$(now)
    /usr/bin/time -f "%M" -o "$out/$label.rss" "$@" >"$out/$label.log" 2>&1 || { echo "error: $label failed, see $out/$label.log" >&2; tail -5 "$out/$label.log" >&2; exit 1; }
    t1=$(now); secs=$(echo "$t1 - $t0" | bc -l); rss=$(( $(tail -1 "$out/$label.rss") / 1024 ))
}

printf "\n%-14s %-15s %9s %9s %8s %9s %9s %s\n" model type llama_s quanta_s speed llama_MB quanta_MB identical
for entry in "${inputs[@]}"; do
    name=${entry%%:*}; input=${entry#*:}
    imatrix=${IMATRIX:-}
    [ -z "$imatrix" ] && [ "$name" = smollm2 ] && imatrix=fixtures/gguf-mixes/smollm2-imatrix.gguf
    for type in "${types[@]}"; do
        for variant in plain imatrix; do
            [ "$variant" = imatrix ] && [ -z "$imatrix" ] && continue
            flags=(); qflags=(); label=$type
            if [ "$variant" = imatrix ]; then flags=(--imatrix "$imatrix"); qflags=(--imatrix "$imatrix"); label="$type+imatrix"; fi
            lt=$(echo "$type" | tr 'A-Z' 'a-z')
            run "llama-$name-$label" "$bin/llama-quantize" --allow-requantize "${flags[@]}" "$input" "$out/llama.gguf" "$type" "$threads"
            ls=$secs; lr=$rss
            run "quanta-$name-$label" "$quanta" quantize --quiet --method gguf --type "$lt" "${qflags[@]}" --force "$input" "$out/quanta.gguf"
            qs=$secs; qr=$rss
            same=no; cmp -s "$out/llama.gguf" "$out/quanta.gguf" && same=yes
            printf "%-14s %-15s %9.2f %9.2f %7.2f× %9d %9d %s\n" "$name" "$label" "$ls" "$qs" "$(echo "$ls / $qs" | bc -l)" "$lr" "$qr" "$same"
        done
    done
done
rm -f "$out/llama.gguf" "$out/quanta.gguf"
