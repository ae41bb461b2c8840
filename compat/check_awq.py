#!/usr/bin/env python3
"""compat: Quanta's AWQ (GEMM layout) output, decoded by an independent dequantizer.

usage: check_awq.py QUANTA_BIN AWQ_DIR WORK_DIR

AWQ_DIR is a `quanta quantize --method awq` output. Checks:
  1. config.json carries AutoAWQ's quantization_config (quant_method awq, bits 4, group_size,
     zero_point true, version gemm, modules_to_not_convert) and every quantized linear has
     qweight int32 [in, out/8], qzeros int32 [in/g, out/8], scales float16 [in/g, out];
  2. fixtures/tools/awq_dequant.py (numpy, written from the layout description) decodes every linear
     to exactly the weights Quanta's engine loads (ours: `quanta convert --to gguf --outtype f32` of
     AWQ_DIR, which dequantizes through the same Dequantizer the engine uses; read with gguf-py and
     llama.cpp's Q/K interleave undone): bit-for-bit equality of the f32 values;
  3. embeddings and lm_head are not quantized.
Exits non-zero on any failure.
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures", "tools"))
import awq_dequant  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "compat"))
from quanta_weights import Checks, dequantized_linears  # noqa: E402

check = Checks()


def main():
    quanta, directory, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    q = config.get("quantization_config", {})
    check(q.get("quant_method") == "awq" and q.get("bits") == 4 and q.get("zero_point") is True
          and str(q.get("version")).lower() == "gemm" and "modules_to_not_convert" in q
          and isinstance(q.get("group_size"), int), f"quantization_config {q}")
    group = int(q.get("group_size", 0))
    tensors = awq_dequant.load_dir(directory)
    modules = sorted(n[: -len(".qweight")] for n in tensors if n.endswith(".qweight"))
    layers = config["num_hidden_layers"]
    check(len(modules) == 7 * layers, f"{len(modules)} AWQ linears for {layers} layers")
    layout_ok = True
    for m in modules:
        qw, qz, sc = tensors[m + ".qweight"], tensors[m + ".qzeros"], tensors[m + ".scales"]
        inputs, words = qw.shape
        layout_ok &= (qw.dtype == np.int32 and qz.dtype == np.int32 and sc.dtype == np.float16
                      and qz.shape == (inputs // group, words) and sc.shape == (inputs // group, words * 8))
    check(layout_ok, "qweight int32 [in, out/8], qzeros int32 [in/g, out/8], scales float16 [in/g, out]")
    check(not any(n.startswith("model.embed_tokens.") and n != "model.embed_tokens.weight" for n in tensors)
          and not any(n.startswith("lm_head.") and n != "lm_head.weight" for n in tensors),
          "embeddings and lm_head stay unquantized")

    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    mine = dequantized_linears(quanta, directory, os.path.join(work, "awq-dequantized-f32.gguf"), heads, kv_heads)
    compared, mismatched, worst = 0, 0, 0.0
    for hf, ours in mine.items():
        module = hf[: -len(".weight")]
        theirs = awq_dequant.dequantize(tensors[module + ".qweight"], tensors[module + ".qzeros"],
                                        tensors[module + ".scales"], group)
        compared += 1
        if ours.shape != theirs.shape or not np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)):
            mismatched += 1
            if ours.shape == theirs.shape:
                worst = max(worst, float(np.max(np.abs(ours - theirs))))
    check(compared == len(modules) and mismatched == 0,
          f"awq_dequant.py = Quanta's dequantized weights bit for bit: {compared - mismatched}/{compared} linears"
          + (f" (worst |Δ| {worst})" if mismatched else ""))
    check.exit("check_awq")

if __name__ == "__main__":
    main()
