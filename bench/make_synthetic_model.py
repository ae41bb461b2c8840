#!/usr/bin/env python3
"""Writes a synthetic float32 Llama-shaped Hugging Face checkpoint for bench/convert.sh.

Only python3 + numpy: the safetensors file is written by hand, following the format spec
(huggingface/safetensors README "Format"): an 8-byte little-endian header length N, N bytes of
JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}} padded
with spaces to a multiple of 8, then the tensor bytes back to back, offsets relative to the
end of the header. Tensors are ordered as safetensors' save_file orders them (by dtype
alignment, then name); all are F32 here, so by name.

The default shape (hidden 2048, ffn 5632, 10 layers, vocab 32000, 32/4 heads, untied) is
2.28 GB, about 8.7x its largest tensor (the 262 MB embedding and lm_head), so a 500 MB
reshard has to pack several tensors per shard.

usage: make_synthetic_model.py OUT_DIR [--layers N] [--seed S]
"""
import argparse
import json
import os
import sys

import numpy as np


def llama_tensors(hidden, ffn, layers, vocab, heads, kv_heads):
    """(name, shape) of a Llama checkpoint as transformers names them."""
    head_dim = hidden // heads
    kv = kv_heads * head_dim
    yield "model.embed_tokens.weight", (vocab, hidden)
    for i in range(layers):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (hidden,)
        yield p + "self_attn.q_proj.weight", (hidden, hidden)
        yield p + "self_attn.k_proj.weight", (kv, hidden)
        yield p + "self_attn.v_proj.weight", (kv, hidden)
        yield p + "self_attn.o_proj.weight", (hidden, hidden)
        yield p + "post_attention_layernorm.weight", (hidden,)
        yield p + "mlp.gate_proj.weight", (ffn, hidden)
        yield p + "mlp.up_proj.weight", (ffn, hidden)
        yield p + "mlp.down_proj.weight", (hidden, ffn)
    yield "model.norm.weight", (hidden,)
    yield "lm_head.weight", (vocab, hidden)


def config_json(hidden, ffn, layers, vocab, heads, kv_heads):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": 1,
        "dtype": "float32",
        "eos_token_id": 2,
        "head_dim": hidden // heads,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "max_position_embeddings": 4096,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "vocab_size": vocab,
    }


def write_safetensors(path, tensors, seed):
    """Streams the tensors to `path` one at a time (memory stays at the largest tensor)."""
    tensors = sorted(tensors)  # save_file's order for a single dtype
    header = {}
    offset = 0
    for name, shape in tensors:
        size = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(seed)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name, shape in tensors:
            if len(shape) == 1:
                values = np.ones(shape, dtype="<f4")  # norms start at 1, as in a fresh model
            else:
                values = (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)).astype("<f4")
            f.write(values.tobytes())
            del values
    os.replace(tmp, path)
    return 8 + len(text) + offset


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--ffn", type=int, default=5632)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--heads", type=int, default=32)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()

    tensors = list(llama_tensors(a.hidden, a.ffn, a.layers, a.vocab, a.heads, a.kv_heads))
    sizes = [int(np.prod(s)) * 4 for _, s in tensors]
    total, largest = sum(sizes), max(sizes)
    if total < 4 * largest:
        sys.exit(f"model of {total} bytes is less than 4x its largest tensor ({largest} bytes): add layers")

    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config_json(a.hidden, a.ffn, a.layers, a.vocab, a.heads, a.kv_heads), f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(a.out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, f, indent=2, sort_keys=True)
        f.write("\n")
    size = write_safetensors(os.path.join(a.out_dir, "model.safetensors"), tensors, a.seed)
    print(f"{a.out_dir}: {len(tensors)} tensors, {size / 1e9:.2f} GB, largest tensor {largest / 1e6:.0f} MB "
          f"({total / largest:.1f}x)")


if __name__ == "__main__":
    main()
