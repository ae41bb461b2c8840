#!/usr/bin/env bash
# bench/eval-quant-synthetic: bench/eval-quant's comparison on a synthetic 1B Llama (the
# make_synthetic_model.py 1b preset: hidden 2048, ffn 8192, 16 layers, vocab 49152, bf16, random
# weights, SmolLM2's tokenizer) as BF16, Q4_0 and Q4_K_M GGUFs: what quanta does with a model
# ~9x SmolLM2's size. Random weights make the PPL values meaningless, but they must be finite and
# agree between the tools within 1 %; quanta's peak RSS must stay within the file's size + 500 MB.
# Usage: bench/eval-quant-synthetic.sh QUANTA_BIN [LLAMA_BIN_DIR]
#
# Made once and cached in bench/out/synthetic-1b/: the checkpoint (model/, 2.3 GB), its GGUF by
# `quanta convert --to gguf --outtype bf16` (synth-bf16.gguf; if that conversion fails the script
# says so and stops), Q4_0 / Q4_K_M by llama-quantize. SmolLM2's tokenizer files come from
# `quanta convert --from gguf --to safetensors` of the shipped GGUF (bench/out/smollm2-hf-f32/).
# Environment: TYPES (default "BF16 Q4_0 Q4_K_M"), CHUNKS (default 4), as in bench/eval-quant.sh;
# OPENBLAS_CORETYPE set → quanta runs twice per type. Exit status 0 when every check passes.
set -euo pipefail
source "$(dirname "$0")/lib-eval.sh"
le_init "$@"

out=$LE_ROOT/bench/out/synthetic-1b; mkdir -p "$out"
types=(${TYPES:-BF16 Q4_0 Q4_K_M})
chunks=${CHUNKS:-4}
rss_slack_mb=500

tok=$LE_ROOT/bench/out/smollm2-hf-f32
le_smollm2_tokenizer "$tok"
le_synthetic "$out/model" --preset 1b --dtype bf16 --tokenizer-from "$tok"

base=$out/synth-bf16.gguf
if [ ! -f "$base" ] || [ "$out/model/.complete" -nt "$base" ]; then
    echo "quanta convert --to gguf --outtype bf16 → $base …" >&2
    rm -f "$base" "$out/synth-bf16.partial.gguf"
    t0=$SECONDS
    if ! "$LE_QUANTA" convert --quiet --to gguf --outtype bf16 "$out/model" "$out/synth-bf16.partial.gguf" \
        > "$out/convert.log" 2>&1; then
        cat "$out/convert.log" >&2
        echo "error: 'quanta convert --to gguf --outtype bf16' of the synthetic model failed (above):" \
             "no GGUF to compare on, stopping" >&2
        rm -f "$out/synth-bf16.partial.gguf"
        exit 1
    fi
    mv "$out/synth-bf16.partial.gguf" "$base"
    echo "  converted in $((SECONDS - t0)) s" >&2
fi
echo "model:   $base (BF16, $(le_mb "$base") MB), types: ${types[*]}, ctx $LE_CTX, $chunks chunks, -t 2"

for type in "${types[@]}"; do
    if [ "$type" = BF16 ]; then file=$base; else file=$out/synth-$(echo "$type" | tr 'A-Z' 'a-z').gguf; le_quantize "$base" "$file" "$type"; fi
    le_run_type "$type" "$file" "$chunks" "$out"
done
echo
status=0
le_table 1% || status=1

echo
echo "quanta peak RSS (VmRSS) against the file's size + $rss_slack_mb MB:"
for row in "${LE_ROWS[@]}"; do
    type=$(le_field "$row" type) mb=$(le_field "$row" mb) rss=$(le_field "$row" qrss) run=$(le_field "$row" run)
    verdict=$("$LE_PYTHON" -c "import sys; r, m = float(sys.argv[1]), float(sys.argv[2]) + $rss_slack_mb
print(f'PASS {r:.0f} MB ≤ {m:.0f} MB' if r <= m else f'FAIL {r:.0f} MB > {m:.0f} MB')" "$rss" "$mb" 2>/dev/null) \
        || verdict="FAIL (no measurement)"
    [[ $verdict == PASS* ]] || status=1
    printf '  %-7s %-28s %s\n' "$type" "($run)" "$verdict"
done
exit $status
