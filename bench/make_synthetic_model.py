#!/usr/bin/env python3
"""Writes a synthetic Llama-shaped Hugging Face checkpoint (f32, bf16 or f16; one file or shards).

Only python3 + numpy: the safetensors files are written by hand, following the format spec
(huggingface/safetensors README "Format"): an 8-byte little-endian header length N, N bytes of
JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}} padded
with spaces to a multiple of 8, then the tensor bytes back to back, offsets relative to the
end of the header. Tensors are ordered as safetensors' save_file orders them (by dtype
alignment, then name); all have one dtype here, so by name.

Values: standard normal x 0.02 for every matrix, ones for the norms, from one seeded
numpy Generator drawn tensor by tensor in name order, so a seed always gives the same bytes.
Each tensor is generated and written in row chunks (CHUNK_ELEMENTS values at a time, ~32 MB
of f32 plus its temporaries), so memory stays well under 200 MB whatever the model's size;
the chunked draws give the same values as one draw per tensor, so an f32 file is
byte-identical to what earlier versions of this script wrote.

bf16 is the top 16 bits of the f32 value rounded to nearest even (integer ops on the bits,
NaN kept a quiet NaN); f16 is numpy's float16 cast (also round to nearest even).

--max-shard-size BYTES (or 500MB, 5GB, 2GiB: GB = 10^9, GiB = 2^30, as transformers reads
them) writes transformers' sharded layout: model-00001-of-0000N.safetensors plus
model.safetensors.index.json = {"metadata": {"total_size": tensor bytes}, "weight_map":
{name: file}}. Tensors are taken in name order and never split; a shard is closed when the
next tensor would take it over the limit (a tensor larger than the limit gets a shard of its
own). If everything fits in one shard, transformers writes model.safetensors and no index,
and so does this script. Without the flag: one model.safetensors, as before.

Shapes: the default (hidden 2048, ffn 5632, 10 layers, vocab 32000, 32/4 heads, untied) is
2.28 GB in f32, about 8.7x its largest tensor (the 262 MB embedding and lm_head), so a 500 MB
reshard has to pack several tensors per shard (bench/convert.sh). Presets (explicit shape
flags override them):
  1b: hidden 2048, ffn 8192, 16 layers, 16 heads, 4 kv heads, vocab 49152 (1.17 G params)
  7b: hidden 4096, ffn 11008, 32 layers, 32 heads, 8 kv heads, vocab 49152 (6.07 G params)
All are untied (lm_head.weight present), rms_norm_eps 1e-5, rope_theta 10000,
head_dim = hidden / heads.

--tokenizer-from DIR copies tokenizer.json, tokenizer_config.json, special_tokens_map.json
and generation_config.json (those present) from DIR, and takes config.json's bos/eos ids
from that generation_config.json, else from tokenizer_config.json (its *_token_id fields,
or its bos_token/eos_token strings looked up in added_tokens_decoder / tokenizer.json).
Without it: bos 1, eos 2 and a generation_config.json saying so, as before.

usage: make_synthetic_model.py OUT_DIR [--preset 1b|7b] [--dtype f32|bf16|f16]
           [--max-shard-size BYTES] [--tokenizer-from DIR] [--layers N] [--seed S] ...
"""
import argparse
import json
import os
import re
import shutil
import sys
import time

import numpy as np

CHUNK_ELEMENTS = 8 << 20  # values generated at a time (32 MB as f32)

PRESETS = {
    "1b": dict(hidden=2048, ffn=8192, layers=16, vocab=49152, heads=16, kv_heads=4),
    "7b": dict(hidden=4096, ffn=11008, layers=32, vocab=49152, heads=32, kv_heads=8),
}
DEFAULT_SHAPE = dict(hidden=2048, ffn=5632, layers=10, vocab=32000, heads=32, kv_heads=4)

# --dtype: (safetensors dtype, bytes per value, config.json dtype)
DTYPES = {"f32": ("F32", 4, "float32"), "bf16": ("BF16", 2, "bfloat16"), "f16": ("F16", 2, "float16")}

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]


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


def config_json(hidden, ffn, layers, vocab, heads, kv_heads, dtype="float32", bos=1, eos=2):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": bos,
        "dtype": dtype,
        "eos_token_id": eos,
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


def parse_size(text):
    """BYTES, or a number with KB/MB/GB (10^3k) or KiB/MiB/GiB (2^10k), as transformers reads them."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 5000000000, 500MB, 5GB, 2GiB)")
    unit = (m[2] or "B").upper()
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}[unit]
    return int(float(m[1]) * scale)


def to_bf16_bits(values):
    """float32 array -> uint16 bf16 bits, round to nearest even; consumes `values` (in place)."""
    u = values.view(np.uint32)
    nan = np.isnan(values)
    rounding = u >> 16
    rounding &= 1
    rounding += 0x7FFF
    u += rounding  # wraps only for NaN bit patterns, fixed below
    del rounding
    u >>= 16
    out = u.astype("<u2")
    if nan.any():
        out[nan] = 0x7FC0
    return out


def encode(values, dtype):
    """float32 chunk -> little-endian bytes of `dtype`."""
    if dtype == "f32":
        return values.astype("<f4", copy=False).tobytes()
    if dtype == "f16":
        return values.astype("<f2").tobytes()
    return to_bf16_bits(values).tobytes()


def write_tensor(f, shape, rng, dtype):
    """Generates one tensor in row chunks and writes it to f."""
    if len(shape) == 1:
        f.write(encode(np.ones(shape, dtype=np.float32), dtype))  # norms start at 1, as in a fresh model
        return
    rows, cols = shape[0], int(np.prod(shape[1:]))
    step = max(1, CHUNK_ELEMENTS // cols)
    for start in range(0, rows, step):
        n = min(step, rows - start)
        values = rng.standard_normal((n, cols), dtype=np.float32)
        values *= np.float32(0.02)
        f.write(encode(values, dtype))
        del values


def header_bytes(tensors, dtype):
    st_dtype, width, _ = DTYPES[dtype]
    header = {}
    offset = 0
    for name, shape in tensors:
        size = int(np.prod(shape)) * width
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return text, offset


def write_safetensors(path, tensors, rng, dtype="f32"):
    """Streams `tensors` (already in name order) to `path`; returns the file's size."""
    text, data = header_bytes(tensors, dtype)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for _, shape in tensors:
            write_tensor(f, shape, rng, dtype)
    os.replace(tmp, path)
    return 8 + len(text) + data


def plan_shards(tensors, width, max_shard_size):
    """Greedy, in name order: a new shard when the next tensor would take this one over the limit."""
    shards, current, current_size = [], [], 0
    for name, shape in tensors:
        size = int(np.prod(shape)) * width
        if current and current_size + size > max_shard_size:
            shards.append(current)
            current, current_size = [], 0
        current.append((name, shape))
        current_size += size
    if current:
        shards.append(current)
    return shards


def token_ids_from(tokenizer_dir):
    """(bos, eos) from DIR's generation_config.json, else its tokenizer_config.json; None where absent."""
    def load(name):
        path = os.path.join(tokenizer_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        return None

    gen = load("generation_config.json") or {}
    tok = load("tokenizer_config.json") or {}
    tokenizer = None

    def lookup(content):
        nonlocal tokenizer
        if isinstance(content, dict):
            content = content.get("content")
        if not isinstance(content, str):
            return None
        for key, entry in (tok.get("added_tokens_decoder") or {}).items():
            if isinstance(entry, dict) and entry.get("content") == content:
                return int(key)
        if tokenizer is None:
            tokenizer = load("tokenizer.json") or {}
        for entry in tokenizer.get("added_tokens") or []:
            if entry.get("content") == content:
                return int(entry["id"])
        vocab = (tokenizer.get("model") or {}).get("vocab")
        if isinstance(vocab, dict) and content in vocab:
            return int(vocab[content])
        return None

    ids = []
    for which in ("bos", "eos"):
        value = gen.get(f"{which}_token_id")
        if value is None:
            value = tok.get(f"{which}_token_id")
        if value is None:
            value = lookup(tok.get(f"{which}_token"))
        ids.append(value)
    return tuple(ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="shape preset (explicit shape flags override it)")
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--ffn", type=int)
    parser.add_argument("--layers", type=int)
    parser.add_argument("--vocab", type=int)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--kv-heads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--max-shard-size", type=parse_size, metavar="BYTES",
                        help="write transformers' sharded layout with shards of at most this many tensor bytes")
    parser.add_argument("--tokenizer-from", metavar="DIR",
                        help="copy the tokenizer files (and bos/eos ids) from this Hugging Face directory")
    a = parser.parse_args()

    shape = dict(PRESETS[a.preset] if a.preset else DEFAULT_SHAPE)
    for key in shape:
        if getattr(a, key) is not None:
            shape[key] = getattr(a, key)
    if shape["hidden"] % shape["heads"] or shape["heads"] % shape["kv_heads"]:
        sys.exit(f"hidden {shape['hidden']} / heads {shape['heads']} / kv heads {shape['kv_heads']} do not divide")
    _, width, config_dtype = DTYPES[a.dtype]

    tensors = sorted(llama_tensors(**shape))  # save_file's order for a single dtype
    sizes = [int(np.prod(s)) * width for _, s in tensors]
    total, largest = sum(sizes), max(sizes)
    if total < 4 * largest:
        sys.exit(f"model of {total} bytes is less than 4x its largest tensor ({largest} bytes): add layers")

    bos, eos = 1, 2
    if a.tokenizer_from:
        if not os.path.isdir(a.tokenizer_from):
            sys.exit(f"--tokenizer-from {a.tokenizer_from}: not a directory")
        found_bos, found_eos = token_ids_from(a.tokenizer_from)
        bos = found_bos if found_bos is not None else bos
        eos = found_eos if found_eos is not None else eos

    os.makedirs(a.out_dir, exist_ok=True)
    # Weights of an earlier run with another layout would be read alongside the new ones.
    for name in os.listdir(a.out_dir):
        if re.fullmatch(r"model(-\d{5}-of-\d{5})?\.safetensors(\.tmp)?|model\.safetensors\.index\.json", name):
            os.remove(os.path.join(a.out_dir, name))

    copied = []
    if a.tokenizer_from:
        for name in TOKENIZER_FILES:
            src = os.path.join(a.tokenizer_from, name)
            if os.path.isfile(src):
                shutil.copyfile(src, os.path.join(a.out_dir, name))
                copied.append(name)
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config_json(**shape, dtype=config_dtype, bos=bos, eos=eos), f, indent=2, sort_keys=True)
        f.write("\n")
    if "generation_config.json" not in copied:
        with open(os.path.join(a.out_dir, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": bos, "eos_token_id": eos}, f, indent=2, sort_keys=True)
            f.write("\n")

    started = time.monotonic()
    rng = np.random.default_rng(a.seed)
    shards = plan_shards(tensors, width, a.max_shard_size) if a.max_shard_size else [tensors]
    size = 0
    if len(shards) == 1:
        size = write_safetensors(os.path.join(a.out_dir, "model.safetensors"), tensors, rng, a.dtype)
        layout = "model.safetensors"
    else:
        weight_map = {}
        for i, shard in enumerate(shards, 1):
            file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            size += write_safetensors(os.path.join(a.out_dir, file), shard, rng, a.dtype)
            weight_map.update((name, file) for name, _ in shard)
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        tmp = os.path.join(a.out_dir, "model.safetensors.index.json.tmp")
        with open(tmp, "w") as f:
            json.dump(index, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, os.path.join(a.out_dir, "model.safetensors.index.json"))
        layout = f"{len(shards)} shards + index"
    elapsed = time.monotonic() - started
    params = total // width
    print(f"{a.out_dir}: {len(tensors)} tensors, {params / 1e9:.2f} G params, {a.dtype}, {layout}, "
          f"{size / 1e9:.2f} GB, largest tensor {largest / 1e6:.0f} MB ({total / largest:.1f}x), "
          f"bos {bos} eos {eos}{', tokenizer: ' + ', '.join(copied) if copied else ''}, {elapsed:.1f} s")


if __name__ == "__main__":
    main()
