"""compat: PyTorch checkpoints. (1) Our pytorch_model.bin loads in torch.load(weights_only=True) and equals the
source; transformers loads our .bin directory with logits identical to the safetensors source. (2) A directory
holding a pytorch_model.bin written by torch.save converts (quanta) to safetensors that transformers loads with
identical logits.
usage: check_torch.py QUANTA_BIN HF_F32_DIR WORK_DIR"""
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

quanta, hf_dir, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
ok = True
tokens = torch.tensor([[(i * 7919 + 13) % 49152 for i in range(256)]])


def logits(path):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        return model(tokens).logits


# (1) safetensors → our .bin
ours_bin = os.path.join(work, "bin")
shutil.rmtree(ours_bin, ignore_errors=True)
subprocess.run([quanta, "convert", "--quiet", "--to", "pytorch", hf_dir, ours_bin], check=True, stdout=subprocess.DEVNULL)
source = load_file(os.path.join(hf_dir, "model.safetensors"))
loaded = torch.load(os.path.join(ours_bin, "pytorch_model.bin"), weights_only=True)
same = set(loaded) == set(source) and all(torch.equal(loaded[k], source[k]) and loaded[k].dtype == source[k].dtype for k in source)
print(f"torch.load(weights_only=True) of our pytorch_model.bin: {len(loaded)} tensors, equal to the source: {same}")
ok &= same
reference = logits(hf_dir)
diff = (logits(ours_bin) - reference).abs().max().item()
print(f"transformers on our .bin directory: max |logits − safetensors source| = {diff:.3e}")
ok &= diff == 0

# (2) torch.save'd directory → quanta → safetensors
theirs = os.path.join(work, "torch-saved")
shutil.rmtree(theirs, ignore_errors=True)
os.makedirs(theirs)
for name in os.listdir(hf_dir):
    if not name.endswith(".safetensors"):
        shutil.copy(os.path.join(hf_dir, name), theirs)
torch.save(source, os.path.join(theirs, "pytorch_model.bin"))
converted = os.path.join(work, "from-torch")
shutil.rmtree(converted, ignore_errors=True)
subprocess.run([quanta, "convert", "--quiet", "--from", "pytorch", "--to", "safetensors", theirs, converted], check=True,
               stdout=subprocess.DEVNULL)
diff = (logits(converted) - reference).abs().max().item()
print(f"torch.save'd pytorch_model.bin → quanta → safetensors, transformers logits: max |Δ| = {diff:.3e}")
ok &= diff == 0
sys.exit(0 if ok else 1)
