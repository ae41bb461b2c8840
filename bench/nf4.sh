#!/usr/bin/env bash
# bench/nf4.sh QUANTA_BIN [PYTHON] — NF4 quantization speed: `quanta quantize --method nf4` against
# bitsandbytes 0.50.2's CPU `quantize_4bit` on the same f32 inputs, one run each:
#   1. one 4096×4096 f32 tensor (synthetic, seeded);
#   2. every linear of SmolLM2-135M (the f32 Hugging Face directory made from models/…Q4_1.gguf).
# Both sides are timed on the quantization itself (inputs already on disk / in memory; quanta's
# "pass_seconds" covers reading the mapped f32 values and encoding), plain and with double quant; the
# wall time of the whole quanta command (load, quantize, write) is printed too. The outputs are checked
# byte for byte against bitsandbytes'. Target: bitsandbytes / quanta ≥ 10 on the quantization time.
# PYTHON (arg or env): a python with torch 2.15, bitsandbytes 0.50.2, safetensors (default: venv-ref/bin/python).
set -euo pipefail
QUANTA=${1:?usage: bench/nf4.sh QUANTA_BIN [PYTHON]}
[ -x "$QUANTA" ] || { echo "error: $QUANTA is not an executable (run 'make build')" >&2; exit 2; }
QUANTA=$(cd "$(dirname "$QUANTA")" && pwd)/$(basename "$QUANTA")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYTHON=${2:-${PYTHON:-$ROOT/venv-ref/bin/python}}
"$PYTHON" -c 'import bitsandbytes, torch, safetensors' 2>/dev/null || { echo "error: $PYTHON lacks bitsandbytes/torch/safetensors (make compat sets up venv-ref)" >&2; exit 2; }
MODEL=${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
OUT=$HERE/out/nf4
mkdir -p "$OUT"
trap 'rm -rf "$OUT"/quanta-*' EXIT

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "quanta:  $QUANTA"
echo "python:  $PYTHON ($("$PYTHON" -c 'import bitsandbytes, torch; print("bitsandbytes", bitsandbytes.__version__, "torch", torch.__version__, "threads", torch.get_num_threads())' 2>/dev/null))"

# --- inputs (made once) ---------------------------------------------------------------------
TENSOR_DIR=$OUT/tensor-4096
if [ ! -f "$TENSOR_DIR/model.safetensors" ]; then
    mkdir -p "$TENSOR_DIR"
    "$PYTHON" - "$TENSOR_DIR" <<'EOF'
import sys, json, torch
from safetensors.torch import save_file
torch.manual_seed(0)
save_file({"model.layers.0.mlp.up_proj.weight": torch.randn(4096, 4096) * 0.02}, sys.argv[1] + "/model.safetensors",
          metadata={"format": "pt"})
json.dump({"model_type": "bench"}, open(sys.argv[1] + "/config.json", "w"))
EOF
fi
MODEL_DIR=$OUT/smollm2-f32
if [ ! -f "$MODEL_DIR/config.json" ]; then
    [ -f "$MODEL" ] || { echo "error: $MODEL is missing (make model)" >&2; exit 2; }
    "$QUANTA" convert --quiet --from gguf --to safetensors --dtype f32 "$MODEL" "$MODEL_DIR" >/dev/null
fi

# --- bitsandbytes: quantize_4bit on every *_proj.weight, timed per call ---------------------
bnb_time() {  # DIR DQ → seconds; also saves bitsandbytes' packed bytes for the check
    "$PYTHON" - "$1" "$2" "$OUT/bnb-$(basename "$1")-$2.pt" <<'EOF' 2>/dev/null
import sys, time, glob, torch
import bitsandbytes.functional as F
from safetensors.torch import load_file
directory, dq, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
tensors = {}
for path in sorted(glob.glob(directory + "/*.safetensors")):
    tensors.update({k: v for k, v in load_file(path).items() if k.endswith("_proj.weight")})
F.quantize_4bit(torch.randn(4096), blocksize=64, quant_type="nf4")  # warm-up (kernel registration)
total, packed = 0.0, {}
for name, w in tensors.items():
    start = time.perf_counter()
    p, state = F.quantize_4bit(w, blocksize=64, compress_statistics=dq, quant_type="nf4")
    total += time.perf_counter() - start
    packed[name] = (p, state.absmax)
torch.save(packed, out)
print(f"{total:.4f}")
EOF
}

# --- quanta: one run, pass time from --json ----------------------------------------------------
quanta_time() {  # DIR DQ → "pass_seconds wall_seconds"
    local flags=(--method nf4); [ "$2" = 1 ] && flags+=(--double-quant)
    rm -rf "$OUT/quanta-$(basename "$1")-$2"
    "$QUANTA" quantize --json --quiet "${flags[@]}" "$1" "$OUT/quanta-$(basename "$1")-$2" |
        "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print("%.4f %.4f" % (d["pass_seconds"], d["seconds"]))'
}

same_bytes() {  # DIR DQ → "yes"/"NO": quanta's packed weights and absmax equal bitsandbytes'
    "$PYTHON" - "$OUT/bnb-$(basename "$1")-$2.pt" "$OUT/quanta-$(basename "$1")-$2" <<'EOF' 2>/dev/null
import sys, glob, torch
from safetensors.torch import load_file
ref = torch.load(sys.argv[1])
ours = {}
for path in glob.glob(sys.argv[2] + "/*.safetensors"):
    ours.update(load_file(path))
ok = all(torch.equal(ours[name], p) and torch.equal(ours[name + ".absmax"], a) for name, (p, a) in ref.items())
print("yes" if ok else "NO")
EOF
}

printf "\n| %-34s | %12s | %14s | %9s | %14s | %11s |\n" "input" "bnb quantize" "quanta quantize" "ratio" "quanta wall" "same bytes"
printf "|%s|%s|%s|%s|%s|%s|\n" "------------------------------------" "--------------" "----------------" "-----------" "----------------" "-------------"
worst=1000000
for case in "tensor-4096:one 4096×4096 f32 tensor" "smollm2-f32:SmolLM2-135M, all 210 linears"; do
    dir=$OUT/${case%%:*}; label=${case#*:}
    for dq in 0 1; do
        b=$(bnb_time "$dir" $dq)
        read -r q wall <<<"$(quanta_time "$dir" $dq)"
        ratio=$(awk -v b="$b" -v q="$q" 'BEGIN {printf "%.1f", (q > 0) ? b / q : 0}')
        worst=$(awk -v r="$ratio" -v w="$worst" 'BEGIN {print (r < w) ? r : w}')
        printf "| %-34s | %10.3f s | %12.3f s | %8s× | %12.3f s | %11s |\n" "$label$([ $dq = 1 ] && echo ' +dq')" "$b" "$q" "$ratio" "$wall" "$(same_bytes "$dir" $dq)"
    done
done
rm -f "$OUT"/bnb-*.pt
echo
echo "target: bitsandbytes / quanta ≥ 10 on every row: $(awk -v w="$worst" 'BEGIN {print (w >= 10) ? "met" : "MISSED"}') (lowest ${worst}×)"
