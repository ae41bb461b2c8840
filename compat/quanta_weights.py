"""Shared by the compat checks: Quanta's dequantized decoder linears, read back independently.

`quanta convert --to gguf --outtype f32` writes what Quanta's own decoder makes of a quantized
directory; gguf-py reads it, and llama.cpp's Q/K row interleave (convert_hf_to_gguf.py `permute`) is
undone, giving {"model.layers.N.<module>.weight": float32 [out, in]} to compare with a reference.
"""
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize as gguf_dequantize

GGUF_TO_HF = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
              "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
              "ffn_down": "mlp.down_proj"}


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of convert_hf_to_gguf.py's `permute` (llama.cpp's Q/K row interleave)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_decoder_linears(gguf_path: str, heads: int, kv_heads: int) -> dict:
    """{"model.layers.N.<module>.weight": float32 [out, in]} of a GGUF's decoder linears, decoded by gguf-py
    (any tensor type), with llama.cpp's Q/K row interleave undone."""
    out = {}
    for t in GGUFReader(gguf_path).tensors:
        parts = t.name.split(".")
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in GGUF_TO_HF or parts[3] != "weight":
            continue
        w = np.asarray(gguf_dequantize(t.data, t.tensor_type), dtype=np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)])
        if parts[2] == "attn_q":
            w = unpermute(w, heads)
        elif parts[2] == "attn_k":
            w = unpermute(w, kv_heads)
        out[f"model.layers.{parts[1]}.{GGUF_TO_HF[parts[2]]}.weight"] = w
    return out


def dequantized_linears(quanta: str, directory: str, gguf_path: str, heads: int, kv_heads: int) -> dict:
    """Quanta's dequantized linears of `directory`, via an f32 GGUF written at `gguf_path`."""
    subprocess.run([quanta, "convert", "--quiet", "--force", "--to", "gguf", "--outtype", "f32", directory, gguf_path],
                   check=True, stdout=subprocess.DEVNULL)
    return gguf_decoder_linears(gguf_path, heads, kv_heads)


class Checks:
    """Prints one `ok`/`FAIL` line per check and remembers the failures."""

    def __init__(self):
        self.failures = []

    def __call__(self, ok: bool, message: str):
        print(("ok   " if ok else "FAIL ") + message, flush=True)
        if not ok:
            self.failures.append(message)

    def exit(self, name: str):
        print(f"{name}: {'all passed' if not self.failures else str(len(self.failures)) + ' failed'}")
        sys.exit(1 if self.failures else 0)
