#!/usr/bin/env python3
"""GPTQModel 7.7.0's side of bench/gptq.sh: quantize a Hugging Face directory with GPTQ on CPU, using
exactly the calibration windows Quanta draws (the model's tokenizer on the same text, then Quanta's
CalibrationSet: SplitMix64(seed), start = next() % (tokens − seqlen − 1), window = tokens[start :
start + seqlen]), and the same GPTQ settings (bits, group size, sym, desc_act, damp, true-sequential;
GPTQModel's own act_group_aware extension off unless --gar).

usage: gptqmodel_quantize.py HF_DIR OUT_DIR CALIB_TEXT --bits 4 --group-size 64 [--samples 128]
       [--seqlen 512] [--seed 0] [--damp 0.01] [--desc-act] [--gar] [--mse N]
Prints one JSON line: seconds (quantize + save), load_seconds, the settings.
"""
import argparse
import json
import os
import time

start = time.time()
import torch  # noqa: E402
from gptqmodel import GPTQModel, QuantizeConfig, __version__  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

assert __version__ == "7.7.0", __version__

parser = argparse.ArgumentParser()
parser.add_argument("hf_dir")
parser.add_argument("out_dir")
parser.add_argument("calib_text")
parser.add_argument("--bits", type=int, default=4)
parser.add_argument("--group-size", type=int, default=64)
parser.add_argument("--samples", type=int, default=128)
parser.add_argument("--seqlen", type=int, default=512)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--damp", type=float, default=0.01)
parser.add_argument("--desc-act", action="store_true")
parser.add_argument("--gar", action="store_true", help="GPTQModel's act_group_aware (its default; not plain GPTQ)")
parser.add_argument("--mse", type=float, default=0.0, help="range search norm (QuantizeConfig.mse; 0 = off)")
args = parser.parse_args()
torch.set_num_threads(os.cpu_count() or 2)

MASK = (1 << 64) - 1


def splitmix64(seed: int):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


tokenizer = AutoTokenizer.from_pretrained(args.hf_dir)
tokens = tokenizer(open(args.calib_text, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
generator = splitmix64(args.seed)
windows = []
for _ in range(args.samples):
    s = next(generator) % (len(tokens) - args.seqlen - 1)
    windows.append(tokens[s:s + args.seqlen])
calibration = [{"input_ids": w, "attention_mask": [1] * len(w)} for w in windows]

config = QuantizeConfig(bits=args.bits, group_size=args.group_size, sym=True, desc_act=args.desc_act,
                        act_group_aware=args.gar and not args.desc_act, damp_percent=args.damp, true_sequential=True,
                        mse=args.mse)
loaded = time.time()
model = GPTQModel.load(args.hf_dir, config)
model.quantize(calibration, batch_size=1)
model.save(args.out_dir)
done = time.time()
print(json.dumps({"seconds": done - loaded, "load_seconds": loaded - start, "bits": args.bits, "group_size": args.group_size,
                  "samples": args.samples, "seqlen": args.seqlen, "damp": args.damp, "desc_act": args.desc_act,
                  "act_group_aware": args.gar and not args.desc_act, "mse": args.mse, "calibration_tokens": len(tokens)}))
