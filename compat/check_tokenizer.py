"""Our HF tokenizer files (from GGUF) encode a text to exactly the ids llama-tokenize gives for the GGUF."""
import json
import subprocess
import sys

from transformers import AutoTokenizer

hf_dir, gguf, text_path, llama_tokenize = sys.argv[1:5]
text = open(text_path, encoding="utf-8").read()
ours = AutoTokenizer.from_pretrained(hf_dir).encode(text, add_special_tokens=True)
out = subprocess.run([llama_tokenize, "-m", gguf, "-f", text_path, "--ids", "--log-disable"],
                     capture_output=True, text=True, check=True).stdout
ref = json.loads(out.strip().splitlines()[-1])
first = next((i for i, (a, b) in enumerate(zip(ours, ref)) if a != b), None)
same = ours == ref
print(f"tokenizer: transformers on our tokenizer.json vs llama-tokenize on {text_path}: "
      f"{len(ours)} vs {len(ref)} ids, {'IDENTICAL' if same else f'first difference at {first}'}")
sys.exit(0 if same else 1)
