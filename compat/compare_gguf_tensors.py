"""Tensor bytes and types of two GGUF files are identical (metadata may differ)."""
import sys

import gguf
import numpy as np

a, b = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
ta, tb = {t.name: t for t in a.tensors}, {t.name: t for t in b.tensors}
bad = sorted(set(ta) ^ set(tb))
for name in ta.keys() & tb.keys():
    x, y = ta[name], tb[name]
    if x.tensor_type != y.tensor_type or np.asarray(x.data).tobytes() != np.asarray(y.data).tobytes():
        bad.append(name)
print(f"{sys.argv[1]} vs {sys.argv[2]}: {len(ta)} tensors, {len(bad)} differ {bad[:5]}")
sys.exit(1 if bad else 0)
