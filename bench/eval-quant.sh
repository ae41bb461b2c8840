#!/usr/bin/env bash
# bench/eval-quant: llama-perplexity against `quanta eval` on SmolLM2 as F32, Q8_0, Q4_0 and Q4_K_M
# GGUFs, one run each of the shared protocol (wikitext-2-raw test, ctx 512, 40 chunks, -t 2):
# PPL, |ΔPPL| (flagged above 0.02), tokens/s and their ratio, peak RSS of each tool.
# Usage: bench/eval-quant.sh QUANTA_BIN [LLAMA_BIN_DIR]
#
# The files are made by llama-quantize and cached in bench/out/eval-quant/: f32.gguf from the
# shipped Q4_1 (`--allow-requantize … F32`), the others from f32.gguf (q8_0.gguf, q4_0.gguf,
# q4_k_m.gguf). Environment:
#   TYPES="F32 Q4_0"   the types to run (default "F32 Q8_0 Q4_0 Q4_K_M"; any llama-quantize type name)
#   CHUNKS=N           windows per run (default 40)
#   MODEL_GGUF=PATH    bench this F32/BF16 GGUF instead; the other types are made from it
#                      (cached as bench/out/eval-quant/NAME-TYPE.gguf) and the row of its own
#                      type (read from general.file_type; BASE_TYPE=… overrides) is the file itself.
# Like bench/eval.sh, when OPENBLAS_CORETYPE is set quanta runs twice per type: as the environment
# says and under `env -u OPENBLAS_CORETYPE`, both rows printed. Logs and JSON stay in the out dir.
# Exit status: 0 when every row is within the tolerance, 1 otherwise.
set -euo pipefail
source "$(dirname "$0")/lib-eval.sh"
le_init "$@"

out=$LE_ROOT/bench/out/eval-quant; mkdir -p "$out"
types=(${TYPES:-F32 Q8_0 Q4_0 Q4_K_M})
chunks=${CHUNKS:-40}

if [ -n "${MODEL_GGUF:-}" ]; then
    base=$(realpath "$MODEL_GGUF")
    base_type=${BASE_TYPE:-$(le_file_type "$base")}
    stem=$(basename "$base" .gguf)
    path_of() { echo "$out/$stem-$(echo "$1" | tr 'A-Z' 'a-z').gguf"; }
else
    smol=$LE_ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf
    base=$out/f32.gguf base_type=F32
    le_quantize "$smol" "$base" F32
    path_of() { echo "$out/$(echo "$1" | tr 'A-Z' 'a-z').gguf"; }
fi
echo "model:   $base ($base_type), types: ${types[*]}, ctx $LE_CTX, $chunks chunks, -t 2"

for type in "${types[@]}"; do
    if [ "$type" = "$base_type" ]; then file=$base; else file=$(path_of "$type"); le_quantize "$base" "$file" "$type"; fi
    le_run_type "$type" "$file" "$chunks" "$out"
done
echo
le_table 0.02
