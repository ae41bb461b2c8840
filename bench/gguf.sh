#!/usr/bin/env bash
# bench/gguf: SmolLM2 Q4_1 GGUF → F32 safetensors directory. One run of each, same input, same machine:
#   quanta convert (dequantize + write)  vs  cp of the output bytes  vs  transformers' GGUF load + save.
# Usage: bench/gguf.sh QUANTA_BIN [PYTHON_WITH_TRANSFORMERS]
set -euo pipefail
quanta=$(realpath "$1"); python=${2:-${REF_PYTHON:-venv-ref/bin/python}}
root=$(cd "$(dirname "$0")/.." && pwd); model=$root/models/SmolLM2-135M-Instruct.Q4_1.gguf
out=$root/bench/out/gguf; rm -rf "$out"; mkdir -p "$out"
now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(now); /usr/bin/time -f "%M" -o "$out/quanta.rss" "$quanta" convert --quiet --from gguf --to safetensors --dtype f32 "$model" "$out/quanta" >/dev/null; t1=$(now)
quanta_s=$(echo "$t1 - $t0" | bc -l)
bytes=$(du -sb "$out/quanta" | cut -f1)
sync; t0=$(now); cp -r "$out/quanta" "$out/cp"; sync; t1=$(now)
cp_s=$(echo "$t1 - $t0" | bc -l)

transformers_s=NA
if [ -x "$python" ] && "$python" -c "import transformers, safetensors" 2>/dev/null; then
  t0=$(now)
  "$python" - "$model" "$out/transformers" <<'PY'
import os, sys, torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
gguf, target = sys.argv[1], sys.argv[2]
model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32)
# transformers 5 refuses save_pretrained on a GGUF-loaded model: save the state dict as safetensors.
state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
os.makedirs(target, exist_ok=True)
save_file(state, os.path.join(target, "model.safetensors"))
model.config.save_pretrained(target)
PY
  t1=$(now); transformers_s=$(echo "$t1 - $t0" | bc -l)
fi
printf "%-34s %8s %10s\n" "step" "seconds" "vs quanta"
printf "%-34s %8.2f %10s\n" "quanta convert (GGUF → F32 st)" "$quanta_s" "1.00×"
printf "%-34s %8.2f %9.2f×\n" "cp -r of the output ($((bytes/1000000)) MB)" "$cp_s" "$(echo "$cp_s / $quanta_s" | bc -l)"
if [ "$transformers_s" != NA ]; then
  printf "%-34s %8.2f %9.2f×\n" "transformers load(gguf_file=)+save" "$transformers_s" "$(echo "$transformers_s / $quanta_s" | bc -l)"
fi
echo "quanta peak RSS: $(( $(cat "$out/quanta.rss") / 1024 )) MB"
echo "ratio: quanta is $(echo "$transformers_s / $quanta_s" | bc -l | cut -c1-5)× faster than transformers; cp/quanta time $(echo "$cp_s / $quanta_s" | bc -l | cut -c1-5)"
rm -rf "$out"
