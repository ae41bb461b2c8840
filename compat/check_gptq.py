#!/usr/bin/env python3
"""compat: Quanta's GPTQ-layout outputs against an independent dequantizer, transformers' config
handling and (when installed) GPTQModel 7.7 + optimum loading them through transformers.

usage: check_gptq.py QUANTA_BIN HF_F32_DIR WORK_DIR

HF_F32_DIR is SmolLM2 as an f32 Hugging Face directory (`quanta convert --from gguf --to safetensors
--dtype f32`). Run it with a Python that has numpy, safetensors, gguf and transformers 5.23; with
gptqmodel 7.7.0 and optimum importable too (the bench venv: BUILD_CUDA_EXT=0 pip install
--no-build-isolation gptqmodel==7.7.0, pip install --no-deps optimum) it also loads the checkpoints in
transformers. For each case (GPTQ 4-bit g64 act-order on a short calibration, RTN 3-bit g128 with a ragged
last group, RTN 2-bit asymmetric g32, RTN 8-bit one group per row):
  1. fixtures/tools/gptq_dequant.py — written from the layout description, no GPTQ library — decodes our
     directory to exactly our own dequantized weights (ours: `quanta convert --to gguf --outtype f32` of
     the directory, read with gguf-py, llama.cpp's Q/K interleave undone), bit for bit, all 210 linears;
  2. transformers' AutoConfig reads quantization_config and GPTQConfig accepts it (its post_init
     validation), with bits, group_size, desc_act, sym and checkpoint_format as written;
  3. (gptqmodel + optimum) AutoModelForCausalLM.from_pretrained loads the directory with no missing,
     unexpected or mismatched keys; every quantized module's dequantize_weight() (float16, GPTQModel's
     v1 → v2 zero conversion applied) equals our weights rounded to float16; the logits on 256 wikitext
     tokens (float16 GPTQ kernel) agree with our engine's in top-1 prediction.
Exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys

import numpy as np
import transformers
from transformers import AutoConfig, GPTQConfig

assert transformers.__version__ == "5.23.0", transformers.__version__

quanta, hf_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "fixtures", "tools"))
from gptq_dequant import dequantize_dir  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quanta_weights import Checks, dequantized_linears  # noqa: E402

os.makedirs(work, exist_ok=True)
check = Checks()


def run(*args):
    subprocess.run([quanta, *args], check=True, stdout=subprocess.DEVNULL)


config = json.load(open(os.path.join(hf_dir, "config.json")))
heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]


def our_dequantized(directory: str) -> dict:
    path = directory + ".f32.gguf"
    out = dequantized_linears(quanta, directory, path, heads, kv_heads)
    os.remove(path)
    return out


try:
    import torch
    import gptqmodel  # noqa: F401
    import optimum  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer
    have_loader = True
except ImportError as error:
    have_loader = False
    print(f"note: transformers cannot load GPTQ checkpoints here ({error}); checks 1-2 only")

cases = {
    "gptq-4bit-g64-actorder": ["--method", "gptq", "--bits", "4", "--group-size", "64", "--act-order",
                               "--calib-samples", "16", "--calib-seqlen", "256"],
    # The recommended settings plus the scale refit: scales move after the sweep, the layout must still decode.
    "gptq-4bit-g64-act-mse-importance-refit": ["--method", "gptq", "--bits", "4", "--group-size", "64", "--act-order",
                                               "--mse", "2", "--mse-importance", "--refit-scales",
                                               "--calib-samples", "16", "--calib-seqlen", "256"],
    "rtn-3bit-g128": ["--method", "rtn", "--bits", "3", "--group-size", "128"],
    "rtn-2bit-g32-asym": ["--method", "rtn", "--bits", "2", "--group-size", "32", "--asym"],
    "rtn-8bit-row": ["--method", "rtn", "--bits", "8", "--group-size", "-1"],
}
if have_loader:
    text = open(os.path.join(root, "data", "wikitext-2-raw-test.txt"), encoding="utf-8").read()[:20000]
    ids = AutoTokenizer.from_pretrained(hf_dir)(text)["input_ids"][:512]
    ids_path = os.path.join(work, "ids-512.bin")
    np.array(ids, dtype="<i4").tofile(ids_path)

for name, flags in cases.items():
    ours = os.path.join(work, name)
    run("quantize", "--quiet", "--force", *flags, hf_dir, ours)

    # 1. the independent dequantizer against ours.
    mine = our_dequantized(ours)
    independent = dequantize_dir(ours)
    differing = [k for k in mine if k not in independent or independent[k].shape != mine[k].shape
                 or not np.array_equal(independent[k].view(np.uint32), mine[k].view(np.uint32))]
    check(len(mine) == 210 and len(independent) == 210 and not differing,
          f"{name}: fixtures/tools/gptq_dequant.py reproduces our {len(mine)} dequantized linears bit for bit "
          f"(differing: {differing[:3] or 'none'})")

    # 2. transformers reads the quantization_config.
    written = json.load(open(os.path.join(ours, "config.json")))["quantization_config"]
    auto = AutoConfig.from_pretrained(ours).quantization_config
    parsed = GPTQConfig.from_dict(dict(auto))
    same = (parsed.bits, parsed.group_size, parsed.desc_act, parsed.sym, parsed.format) == \
        (written["bits"], written["group_size"], written["desc_act"], written["sym"], written["checkpoint_format"])
    check(same, f"{name}: AutoConfig + GPTQConfig accept quantization_config (bits {parsed.bits}, group_size "
                f"{parsed.group_size}, desc_act {parsed.desc_act}, sym {parsed.sym}, format {parsed.format})")

    if not have_loader:
        continue
    # 3. transformers + optimum + GPTQModel load it; GPTQModel's dequantized weights equal ours.
    model, info = AutoModelForCausalLM.from_pretrained(ours, device_map="cpu", dtype=torch.float16, output_loading_info=True)
    model.eval()
    problems = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    check(not problems, f"{name}: transformers + GPTQModel load our directory (missing/unexpected/mismatched keys: {problems or 'none'})")
    compared, differing = 0, []
    for module_name, module in model.named_modules():
        if not hasattr(module, "dequantize_weight") or not hasattr(module, "qweight"):
            continue
        compared += 1
        theirs = module.dequantize_weight().to(torch.float16).T.contiguous().numpy()
        key = module_name + ".weight"
        if key not in mine or not np.array_equal(mine[key].astype(np.float16).view(np.uint16), theirs.view(np.uint16)):
            differing.append(module_name)
    check(compared == 210 and not differing,
          f"{name}: {compared} GPTQModel dequantize_weight() equal our weights in float16 (differing: {differing[:3] or 'none'})")
    dump = os.path.join(work, f"logits-{name}.bin")
    try:
        run("eval", "--quiet", ours, "--token-ids", ids_path, "--ctx", "256", "--chunks", "1", "--dump-logits", dump)
        our_logits = np.fromfile(dump, dtype="<f4").reshape(256, -1)
        with torch.no_grad():
            their_logits = model(torch.tensor([ids[:256]])).logits[0].float().numpy()
        top1 = float((our_logits.argmax(-1) == their_logits.argmax(-1)).mean())
        worst = float(np.abs(our_logits - their_logits).max())
        check(top1 >= 0.95, f"{name}: logits on 256 tokens, our f32 engine vs GPTQModel's float16 kernel: "
                            f"top-1 agreement {top1:.4f}, max |Δlogit| {worst:.3g}")
    except subprocess.CalledProcessError:
        print(f"note: {name}: quanta eval has no --dump-logits here; logits not compared")
    del model

check.exit("check_gptq")
