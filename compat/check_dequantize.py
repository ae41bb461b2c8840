#!/usr/bin/env python3
"""compat: `quanta convert --dequantize --to safetensors --dtype bf16` outputs load in transformers as
ordinary models holding exactly the quantized values.

usage: check_dequantize.py QUANTA_BIN HF_F32_DIR WORK_DIR SOURCE...

Each SOURCE is a quantized model Quanta wrote: an AWQ or GPTQ directory, or a GGUF with block types
(Q4_K_M). For each:
  1. `quanta convert --dequantize --to safetensors --dtype bf16 SOURCE OUT`;
  2. transformers' AutoModelForCausalLM loads OUT with no missing, unexpected or mismatched keys, and
     its config carries no quantization_config;
  3. every decoder linear equals an independent decode of SOURCE, rounded to bf16 by torch: for AWQ
     and GPTQ fixtures/tools/awq_dequant.py / gptq_dequant.py (numpy, from the layout descriptions),
     for GGUF gguf-py's `gguf.quants.dequantize` with llama.cpp's Q/K row interleave undone;
  4. its next-token predictions on 256 wikitext tokens agree with the float model's (HF_F32_DIR) on
     at least 70 % of positions (a 4-bit model does; a scrambled one would not), and every logit is finite.
Exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures", "tools"))
sys.path.insert(0, os.path.join(ROOT, "compat"))
import awq_dequant  # noqa: E402
from gptq_dequant import dequantize_dir as gptq_dequantize_dir  # noqa: E402
from quanta_weights import Checks, gguf_decoder_linears  # noqa: E402

check = Checks()


def independent(source: str, heads: int, kv_heads: int) -> dict:
    """{"model.layers.N.<module>.weight": float32 [out, in]} decoded without Quanta."""
    if source.endswith(".gguf"):
        return gguf_decoder_linears(source, heads, kv_heads)
    with open(os.path.join(source, "config.json")) as f:
        method = json.load(f)["quantization_config"]["quant_method"]
    if method == "gptq":
        return gptq_dequantize_dir(source)
    if method == "awq":
        with open(os.path.join(source, "config.json")) as f:
            group = int(json.load(f)["quantization_config"]["group_size"])
        tensors = awq_dequant.load_dir(source)
        return {n[: -len(".qweight")] + ".weight": awq_dequant.dequantize(tensors[n], tensors[n[:-8] + ".qzeros"],
                                                                           tensors[n[:-8] + ".scales"], group)
                for n in tensors if n.endswith(".qweight")}
    raise SystemExit(f"{source}: no independent decoder for quant_method {method}")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    quanta, hf_dir, work, sources = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(hf_dir, "config.json")) as f:
        config = json.load(f)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    text = open(os.path.join(ROOT, "data", "wikitext-2-raw-test.txt"), encoding="utf-8").read()[:8000]
    ids = torch.tensor([tokenizer(text)["input_ids"][:256]])
    base = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    with torch.no_grad():
        base_top = base(ids).logits[0].argmax(-1)

    for source in sources:
        name = os.path.basename(source.rstrip("/"))
        out = os.path.join(work, name + "-dequantized-bf16")
        subprocess.run([quanta, "convert", "--quiet", "--force", "--dequantize", "--to", "safetensors", "--dtype", "bf16",
                        source, out], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "config.json")) as f:
            out_config = json.load(f)
        check("quantization_config" not in out_config, f"{name}: config.json carries no quantization_config")
        model, info = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16, output_loading_info=True)
        problems = {k: v for k, v in info.items() if v}
        check(not problems, f"{name}: transformers loads it with no missing/unexpected/mismatched keys {problems or ''}")
        state = model.state_dict()
        reference = independent(source, heads, kv_heads)
        compared = mismatched = 0
        for key, value in reference.items():
            compared += 1
            theirs = torch.from_numpy(np.ascontiguousarray(value)).to(torch.bfloat16)
            mine = state.get(key)
            if mine is None or mine.shape != theirs.shape or not torch.equal(mine.view(torch.int16), theirs.view(torch.int16)):
                mismatched += 1
        check(compared == 7 * config["num_hidden_layers"] and mismatched == 0,
              f"{name}: {compared - mismatched}/{compared} decoder linears = the independent decoder's values in bf16, bit for bit")
        with torch.no_grad():
            logits = model(ids).logits[0].float()
        agree = float((logits.argmax(-1) == base_top).float().mean())
        check(bool(torch.isfinite(logits).all()) and agree >= 0.70,
              f"{name}: transformers runs it; next-token agreement with the float model {100 * agree:.1f} % (≥ 70 %)")
    check.exit("check_dequantize")


if __name__ == "__main__":
    main()
