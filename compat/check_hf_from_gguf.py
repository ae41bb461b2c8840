"""transformers loads our GGUF→HF directory with no missing/unexpected keys, and its logits on 256
wikitext tokens equal those of transformers loading the original GGUF itself (gguf_file=)."""
import os
import sys

import torch
from transformers import AutoModelForCausalLM

hf_dir, gguf_path, text_path, ids_path = sys.argv[1:5]
torch.manual_seed(0)
ids = [int(x) for x in open(ids_path).read().strip().strip("[]").split(",")][:256]
tokens = torch.tensor([ids])

ours, info = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, output_loading_info=True)
missing, unexpected = info["missing_keys"], info["unexpected_keys"]
print(f"load: missing keys {sorted(missing)}, unexpected keys {sorted(unexpected)}")
reference = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(gguf_path)),
                                                 gguf_file=os.path.basename(gguf_path), dtype=torch.float32)
with torch.no_grad():
    a = ours.eval()(tokens).logits
    b = reference.eval()(tokens).logits
diff = (a - b).abs().max().item()
print(f"logits on 256 tokens: max |ours - transformers(gguf_file=)| = {diff:.3e}")
ok = not missing and not unexpected and diff <= 1e-4
sys.exit(0 if ok else 1)
