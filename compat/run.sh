#!/usr/bin/env bash
# make compat: prove Quanta's outputs load and agree in the real consumers (transformers, gguf-py,
# llama.cpp). Prints one line per check and a summary; exits non-zero if any check fails.
set -uo pipefail
quanta=$(realpath "$1"); model=$(realpath "$2"); python=$3; bin=$(realpath "$4")
root=$(cd "$(dirname "$0")/.." && pwd)
work=${COMPAT_OUT:-$root/out/compat}
rm -rf "$work"; mkdir -p "$work"
text=$root/data/wikitext-2-raw-test.txt
export LD_LIBRARY_PATH="$bin:${LD_LIBRARY_PATH:-}"
pass=0; fail=0
check() { local name=$1; shift; echo "== $name"; if "$@"; then pass=$((pass+1)); else echo "FAILED: $name"; fail=$((fail+1)); fi; }
ppl() { # model → final PPL line of llama-perplexity on the shared protocol
  "$bin/llama-perplexity" -m "$1" -f "$text" -c 512 --chunks 40 -t 2 2>&1 | grep -E "Final estimate" | sed 's/.*PPL = //'
}
near() { python3 -c "import sys; v=float('$1'.split()[0]); sys.exit(0 if abs(v-$2)<=$3 else 1)"; }

# --- GGUF → HF directory (issue 3) ---
"$quanta" convert --quiet --from gguf --to safetensors --dtype f32 "$model" "$work/hf" >/dev/null
"$bin/llama-tokenize" -m "$model" -f "$text" --ids --log-disable --no-parse-special 2>/dev/null | tail -1 > "$work/wiki-ids.txt"
check "tokenizer.json (ours) = llama-tokenize, wikitext" "$python" "$root/compat/check_tokenizer.py" "$work/hf" "$model" "$text" "$bin/llama-tokenize"
check "tokenizer.json (ours) = llama-tokenize, tinyshakespeare" "$python" "$root/compat/check_tokenizer.py" "$work/hf" "$model" "$root/data/tinyshakespeare.txt" "$bin/llama-tokenize"
# quanta tokenize prints what llama-tokenize prints (issue 15): both output modes, the model and our HF directory.
for src in "$model" "$work/hf"; do
  for mode in "--ids" ""; do
    "$bin/llama-tokenize" -m "$model" -f "$root/data/tinyshakespeare.txt" $mode --log-disable 2>/dev/null > "$work/llama-tokenize.out"
    "$quanta" tokenize "$src" --text "$root/data/tinyshakespeare.txt" $mode > "$work/quanta-tokenize.out"
    check "quanta tokenize $(basename "$src") ${mode:-(pieces)} = llama-tokenize, byte for byte" cmp "$work/llama-tokenize.out" "$work/quanta-tokenize.out"
  done
done
check "transformers loads GGUF→HF, logits = transformers(gguf_file=)" "$python" "$root/compat/check_hf_from_gguf.py" "$work/hf" "$model" "$text" "$work/wiki-ids.txt"

# --- HF → GGUF F32 → llama-perplexity ---
"$quanta" convert --quiet --to gguf --outtype f32 "$work/hf" "$work/ours-f32.gguf" >/dev/null
v=$(ppl "$work/ours-f32.gguf"); echo "llama-perplexity on our HF→GGUF F32: PPL = $v (reference 22.9387)"
check "HF→GGUF F32 PPL 22.9387 ± 0.01" near "$v" 22.9387 0.01

# --- Q8_0 / Q4_0 written by us = llama-quantize --pure on the same F32 file ---
"$bin/llama-quantize" --allow-requantize "$model" "$work/ref-f32.gguf" F32 >/dev/null 2>&1
for t in Q8_0 Q4_0; do
  lt=$(echo $t | tr A-Z a-z)
  "$bin/llama-quantize" --pure "$work/ref-f32.gguf" "$work/ref-$lt.gguf" $t >/dev/null 2>&1
  "$quanta" convert --quiet --to gguf --outtype $lt "$work/ref-f32.gguf" "$work/ours-$lt.gguf" >/dev/null
  check "$t tensors = llama-quantize --pure" "$python" "$root/compat/compare_gguf_tensors.py" "$work/ref-$lt.gguf" "$work/ours-$lt.gguf"
  v=$(ppl "$work/ours-$lt.gguf"); echo "llama-perplexity loads our $t: PPL = $v"
  check "llama.cpp loads our $t" test -n "$v"
  # The engine runs the file as stored with llama.cpp's numerics (issue 13): the same score.
  q=$("$quanta" eval "$work/ours-$lt.gguf" --text "$text" --ctx 512 --chunks 40 --json --quiet | python3 -c "import json,sys; print(json.load(sys.stdin)['ppl'])")
  echo "quanta eval (ggml numerics) on the same $t file: PPL = $q (llama-perplexity ${v%% *})"
  check "quanta eval $t within 0.2 % of llama-perplexity" python3 -c "import sys; a=float('$q'); b=float('${v%% *}'); sys.exit(0 if abs(a-b) <= 0.002*b else 1)"
done

# --- K-quant / IQ4 mixes (issue 14): whole files byte-identical to llama-quantize's, loaded by llama.cpp ---
# llama-imatrix's matrix of the same F32 file (128 × 512 calibration tokens); bench/gguf-eval.sh's copy
# is reused when present (same input bytes, same command).
cached=$root/bench/out/gguf-eval/llama-imatrix-128.gguf
if [ -f "$cached" ] && cmp -s "$work/ref-f32.gguf" "$root/bench/out/eval-quant/f32.gguf"; then
  cp "$cached" "$work/llama-imatrix.gguf"
else
  "$bin/llama-imatrix" -m "$work/ref-f32.gguf" -f "$root/data/wikitext-2-calibration.txt" -c 512 --chunks 128 -t 2 \
    -o "$work/llama-imatrix.gguf" --no-ppl >"$work/llama-imatrix.log" 2>&1
fi
for t in Q4_K_M Q2_K Q3_K_M Q4_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS; do
  lt=$(echo $t | tr A-Z a-z)
  for im in "" imatrix; do
    flags=(); tag=$t
    [ -n "$im" ] && { flags=(--imatrix "$work/llama-imatrix.gguf"); tag="$t+imatrix"; }
    "$bin/llama-quantize" "${flags[@]}" "$work/ref-f32.gguf" "$work/ref-$lt$im.gguf" $t 2 >/dev/null 2>&1
    "$quanta" quantize --quiet --method gguf --type $lt "${flags[@]}" "$work/ref-f32.gguf" "$work/ours-$lt$im.gguf" >/dev/null
    check "$tag: our whole file = llama-quantize's (cmp)" cmp "$work/ref-$lt$im.gguf" "$work/ours-$lt$im.gguf"
  done
done
for f in q4_k_m q4_k_mimatrix; do
  v=$(ppl "$work/ours-$f.gguf"); echo "llama-perplexity on our $f: PPL = $v"
  check "llama.cpp loads our $f" test -n "$v"
done
# Calibrated K-quants (GPTQ error feedback in ggml's blocks): a standard Q4_K_M file llama.cpp loads.
"$quanta" quantize --quiet --method gguf --type q4_k_m --calib "$root/data/wikitext-2-calibration.txt" "$work/ref-f32.gguf" "$work/ours-q4_k_m-calibrated.gguf" >/dev/null
v=$(ppl "$work/ours-q4_k_m-calibrated.gguf"); echo "llama-perplexity on our calibrated Q4_K_M: PPL = $v (llama-quantize --imatrix: 23.6472)"
check "calibrated Q4_K_M loads in llama.cpp and beats 23.6472" python3 -c "import sys; v='$v'.split(); sys.exit(0 if v and float(v[0]) < 23.6472 else 1)"
# quanta imatrix against llama-imatrix on the same 128 × 512 calibration tokens.
if "$quanta" imatrix --quiet "$work/ref-f32.gguf" --calib "$root/data/wikitext-2-calibration.txt" --chunks 128 -o "$work/ours-imatrix.gguf" >/dev/null \
   && [ -f "$root/bench/imatrix-compare.py" ]; then
  check "quanta imatrix ≈ llama-imatrix (median rel. diff ≤ 1e-3, p99 ≤ 1e-2)" "$python" "$root/bench/imatrix-compare.py" "$work/ours-imatrix.gguf" "$work/llama-imatrix.gguf"
  # Q4_K_M with our matrix scores as Q4_K_M with llama-imatrix's (llama-perplexity, ±0.02).
  "$quanta" quantize --quiet --method gguf --type q4_k_m --imatrix "$work/ours-imatrix.gguf" "$work/ref-f32.gguf" "$work/ours-q4_k_m-our-imatrix.gguf" >/dev/null
  a=$(ppl "$work/ours-q4_k_m-our-imatrix.gguf"); b=$(ppl "$work/ours-q4_k_mimatrix.gguf")
  echo "llama-perplexity: Q4_K_M with quanta's imatrix $a, with llama-imatrix's $b"
  check "Q4_K_M with quanta's imatrix within ±0.02 PPL of llama-imatrix's" python3 -c "import sys; a='$a'.split(); b='$b'.split(); sys.exit(0 if a and b and abs(float(a[0])-float(b[0])) <= 0.02 else 1)"
fi

# --- round trips ---
"$quanta" convert --quiet --to gguf "$model" "$work/same.gguf" >/dev/null
check "GGUF→GGUF same type byte-identical" cmp "$model" "$work/same.gguf"
"$quanta" convert --quiet --to safetensors "$work/ours-f32.gguf" "$work/hf-again" >/dev/null
check "HF→GGUF→HF (f32) bit-identical" "$quanta" diff --quiet "$work/hf" "$work/hf-again"
"$quanta" convert --quiet --to safetensors --dtype bf16 "$work/hf" "$work/hf-bf16" >/dev/null
"$quanta" convert --quiet --to gguf "$work/hf-bf16" "$work/bf16.gguf" >/dev/null
"$quanta" convert --quiet --to safetensors "$work/bf16.gguf" "$work/hf-bf16-again" >/dev/null
check "HF→GGUF→HF (bf16) bit-identical" "$quanta" diff --quiet "$work/hf-bf16" "$work/hf-bf16-again"

# --- PyTorch checkpoints (issue 4) ---
check "PyTorch .bin: torch.load(weights_only) equal, transformers logits identical both ways" \
  "$python" "$root/compat/check_torch.py" "$quanta" "$work/hf" "$work/torch"

# --- quantized layouts (issues 6, 7, 8): each script prints its own figures ---
[ -f "$root/compat/check_bnb.py" ] && check "bitsandbytes NF4/FP4/int8 in transformers + bitsandbytes" \
  "$python" "$root/compat/check_bnb.py" "$quanta" "$work/hf" "$work/bnb"
if [ -f "$root/compat/check_gptq.py" ]; then
  check "GPTQ layout: independent dequantizer, transformers config" "$python" "$root/compat/check_gptq.py" "$quanta" "$work/hf" "$work/gptq"
fi
if [ -f "$root/compat/check_awq.py" ]; then
  "$quanta" quantize --quiet --method awq --bits 4 --group-size 64 --calib-samples 16 "$work/hf" "$work/awq" >/dev/null \
    && check "AWQ GEMM layout: independent dequantizer" "$python" "$root/compat/check_awq.py" "$quanta" "$work/awq" "$work/awq-check"
fi

# --- convert --dequantize (issue 16): plain bf16 checkpoints transformers loads, values = independent decoders ---
deq=()
[ -d "$work/awq" ] && deq+=("$work/awq")
[ -d "$work/gptq/gptq-4bit-g64-actorder" ] && deq+=("$work/gptq/gptq-4bit-g64-actorder")
[ -f "$work/ours-q4_k_m.gguf" ] && deq+=("$work/ours-q4_k_m.gguf")
check "convert --dequantize (${#deq[@]} inputs) → bf16 safetensors: transformers loads it, linears = independent decoders" \
  "$python" "$root/compat/check_dequantize.py" "$quanta" "$work/hf" "$work/dequantize" "${deq[@]}"

echo "compat: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
