#!/usr/bin/env python3
"""compat: Quanta's bitsandbytes outputs in transformers 5.23 + bitsandbytes 0.50.2 (CPU).

usage: check_bnb.py QUANTA_BIN HF_F32_DIR WORK_DIR

HF_F32_DIR is SmolLM2 as an f32 Hugging Face directory (`quanta convert --from gguf --to safetensors
--dtype f32`). For NF4 + double quant and for LLM.int8 this checks that
  1. `quanta quantize` writes what transformers writes: transformers loads HF_F32_DIR with the same
     BitsAndBytesConfig and save_pretrained()s it; model.safetensors must be byte-identical to ours and
     config.json's quantization_config equal (the rest of config.json is the source's, which transformers
     re-saves with its defaults filled in);
  2. transformers loads our directory with no missing, unexpected or mismatched keys;
  3. bitsandbytes' dequantized weights equal ours bit for bit (ours: `quanta convert --to gguf --outtype
     f32` of our directory, read with gguf-py, llama.cpp's Q/K interleave undone);
  4. the logits on 256 tokens of wikitext (ids from the model's tokenizer) agree: our engine
     (`quanta eval --dump-logits`) against transformers' forward pass, within 1e-3 for NF4. Linear4bit's
     AVX512-BF16 fast path is switched off (it computes in bf16); bitsandbytes' default kernel then
     dequantizes to f32 and multiplies in the compute dtype, as our engine does. For LLM.int8, whose
     activation rounding amplifies last-bit differences layer after layer, top-1 agreement ≥ 0.9 is
     checked and the largest difference printed.
Exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import bitsandbytes
import bitsandbytes.functional as F
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

assert bitsandbytes.__version__ == "0.50.2", bitsandbytes.__version__
assert transformers.__version__ == "5.23.0", transformers.__version__

quanta, hf_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quanta_weights import Checks, dequantized_linears  # noqa: E402
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(work, exist_ok=True)
torch.set_num_threads(os.cpu_count() or 2)
check = Checks()


def run(*args):
    subprocess.run([quanta, *args], check=True, stdout=subprocess.DEVNULL)


config = json.load(open(os.path.join(hf_dir, "config.json")))
heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]


# 256 + 256 tokens of wikitext, tokenized by the model's own tokenizer.
text = open(os.path.join(root, "data", "wikitext-2-raw-test.txt"), encoding="utf-8").read()[:20000]
ids = AutoTokenizer.from_pretrained(hf_dir)(text)["input_ids"][:512]
ids_path = os.path.join(work, "ids-512.bin")
np.array(ids, dtype="<i4").tofile(ids_path)
T = 256

cases = {
    "nf4-dq": (["--method", "nf4", "--double-quant"],
               BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=torch.float32), 1e-3),
    "int8": (["--method", "int8"], BitsAndBytesConfig(load_in_8bit=True), None),
}
for name, (flags, bnb_config, logits_bound) in cases.items():
    ours = os.path.join(work, f"ours-{name}")
    run("quantize", "--quiet", "--force", *flags, hf_dir, ours)

    # 1. transformers' own files from the same f32 model.
    theirs = os.path.join(work, f"transformers-{name}")
    reference = AutoModelForCausalLM.from_pretrained(hf_dir, quantization_config=bnb_config, device_map="cpu",
                                                     dtype=torch.float32)
    reference.save_pretrained(theirs)
    del reference
    same = open(os.path.join(ours, "model.safetensors"), "rb").read() == \
        open(os.path.join(theirs, "model.safetensors"), "rb").read()
    check(same, f"{name}: our model.safetensors is byte-identical to transformers' save_pretrained")
    # config.json: the rest is the source's config as our converter wrote it (transformers re-saves it with
    # its defaults filled in), so compare the part the quantization adds.
    ours_q = json.load(open(os.path.join(ours, "config.json")))["quantization_config"]
    theirs_q = json.load(open(os.path.join(theirs, "config.json")))["quantization_config"]
    check(ours_q == theirs_q, f"{name}: config.json quantization_config equals transformers' ({ours_q == theirs_q})")

    # 2. transformers loads ours with no key problems.
    # dtype f32 as the source (without it transformers' 8-bit loader picks float16 for the rest of the model).
    model, info = AutoModelForCausalLM.from_pretrained(ours, device_map="cpu", dtype=torch.float32, output_loading_info=True)
    model.eval()
    problems = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    check(not problems, f"{name}: transformers loads our directory (missing/unexpected/mismatched keys: {problems or 'none'})")

    # 3. dequantized weights, bit for bit.
    mine = dequantized_linears(quanta, ours, ours + ".f32.gguf", heads, kv_heads)
    compared, differing = 0, []
    for module_name, module in model.named_modules():
        if isinstance(module, bitsandbytes.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            w = F.dequantize_4bit(module.weight.data, module.weight.quant_state).float().numpy()
        elif isinstance(module, bitsandbytes.nn.Linear8bitLt):
            w = F.int8_vectorwise_dequant(module.weight.data, module.weight.SCB).numpy()
        else:
            continue
        compared += 1
        key = module_name + ".weight"
        if key not in mine or mine[key].shape != w.shape or not np.array_equal(mine[key].view(np.uint32), w.view(np.uint32)):
            differing.append(module_name)
    check(compared > 0 and not differing,
          f"{name}: {compared} dequantized weights equal bitsandbytes' bit for bit (differing: {differing[:3] or 'none'})")

    # 4. logits on 256 tokens.
    dump = os.path.join(work, f"logits-{name}.bin")
    run("eval", "--quiet", ours, "--token-ids", ids_path, "--ctx", str(T), "--chunks", "1", "--dump-logits", dump)
    our_logits = np.fromfile(dump, dtype="<f4").reshape(T, -1)
    with torch.no_grad():
        their_logits = model(torch.tensor([ids[:T]])).logits[0].float().numpy()
    worst = float(np.abs(our_logits - their_logits).max())
    top1 = float((our_logits.argmax(-1) == their_logits.argmax(-1)).mean())
    if logits_bound is not None:
        check(worst <= logits_bound, f"{name}: max |Δlogit| over {T} tokens = {worst:.3g} (bound {logits_bound:g}); top-1 agreement {top1:.4f}")
    else:
        # LLM.int8 rounds every activation to int8 and decides outlier columns by a hard threshold, so the
        # last-bit differences of two f32 implementations (RMSNorm, attention) flip roundings and grow
        # through the layers: on 4 tokens the logits agree within 1e-4, on 256 they drift by units.
        # Each Linear8bitLt output is reproduced exactly given the same input (tests); here only a
        # coarse agreement is checked.
        check(top1 >= 0.9, f"{name}: top-1 agreement {top1:.4f} over {T} tokens (≥ 0.9; max |Δlogit| {worst:.3g}, "
                           "LLM.int8 amplifies last-bit differences)")
    del model

check.exit("check_bnb")
