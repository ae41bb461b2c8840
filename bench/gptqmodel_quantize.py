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
import sys
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quanta_windows import draw_windows  # noqa: E402

tokenizer = AutoTokenizer.from_pretrained(args.hf_dir)
windows, _ = draw_windows(tokenizer, args.calib_text, args.samples, args.seqlen, args.seed)
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
