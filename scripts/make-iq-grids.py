#!/usr/bin/env python3
"""Writes Sources/QuantaQuant/Codecs/GGML/GGMLIQGridData.swift: the code books of the ggml IQ types
(iq2xxs_grid, iq2xs_grid, iq2s_grid, iq3xxs_grid, iq3s_grid, iq1s_grid) and ksigns_iq2xs, so that no
number in that file is typed by hand.

Each table is read twice and the two must agree entry for entry, or nothing is written:
  * gguf-py 0.19.0 gguf/quants.py, the reference Quanta is bit-exact with: the `grid` each IQ class
    builds from its `grid_hex` / `grid_map` (`__Quant.init_grid`), and `IQ2_XXS.ksigns`;
  * llama.cpp's ggml-common.h (`GGML_TABLE_BEGIN(uint64_t, iq2xxs_grid, 256)` ...), as vendored in the
    llama-cpp-python 0.3.36 sdist.
It also checks that IQ1S_DELTA / IQ1M_DELTA are 0.125f in ggml-common.h and `IQ1_S.delta` /
`IQ1_M.delta` are float32 0.125 in gguf-py (the decoder uses that constant).

The tables are written in ggml-common.h's notation (one little-endian uint64/uint32 per grid entry,
byte j = element j; IQ1_S bytes are int8), so the Swift file can be diffed against the header.

Run from the repository root with the reference venv (gguf 0.19.0, numpy 2.4.6):
  /work/main/venv-ref/bin/python scripts/make-iq-grids.py [path/to/ggml-common.h]
Default header: vendor/llama-cpp-python-0.3.36/vendor/llama.cpp/ggml/src/ggml-common.h
"""
import os
import re
import sys
from importlib.metadata import version

import numpy as np
from gguf import quants

assert version("gguf") == "0.19.0", version("gguf")
assert np.__version__ == "2.4.6", np.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_REL = "vendor/llama-cpp-python-0.3.36/vendor/llama.cpp/ggml/src/ggml-common.h"
HEADER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, HEADER_REL)
OUT = os.path.join(ROOT, "Sources", "QuantaQuant", "Codecs", "GGML", "GGMLIQGridData.swift")

with open(HEADER, encoding="utf-8") as f:
    header = f.read()


def ggml_table(name: str) -> tuple[str, list[int]]:
    """The C element type and values of `GGML_TABLE_BEGIN(type, name, size) ... GGML_TABLE_END()`."""
    m = re.search(r"GGML_TABLE_BEGIN\((\w+),\s*" + name + r",\s*(\w+)\)(.*?)GGML_TABLE_END\(\)", header, re.S)
    assert m, name
    ctype, body = m.group(1), re.sub(r"//[^\n]*", "", m.group(3))
    values = [int(tok, 0) for tok in re.findall(r"-?0x[0-9a-fA-F]+|-?\d+", body)]
    size = m.group(2)
    size = int(re.search(r"#define\s+" + size + r"\s+(\d+)", header).group(1)) if not size.isdigit() else int(size)
    assert len(values) == size, (name, len(values), size)
    return ctype, values


def gguf_entries(cls) -> list[int]:
    """gguf-py's float grid of `cls`, packed back into ggml's integers (element j in byte j)."""
    cls.init_grid()
    grid = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
    as_int = grid.astype(np.int64)
    assert np.array_equal(as_int.astype(np.float32), grid), cls.__name__  # whole numbers only
    as_bytes = (as_int & 0xFF).astype(np.uint64)  # int8 for IQ1_S (-1 -> 0xff)
    shifts = np.arange(grid.shape[1], dtype=np.uint64) * np.uint64(8)
    return [int(v) for v in np.bitwise_or.reduce(as_bytes << shifts, axis=1)]


# (Swift name, ggml table, gguf-py class, entries, bytes per entry)
GRIDS = [
    ("iq2xxs", "iq2xxs_grid", quants.IQ2_XXS, 256, 8),
    ("iq2xs", "iq2xs_grid", quants.IQ2_XS, 512, 8),
    ("iq2s", "iq2s_grid", quants.IQ2_S, 1024, 8),
    ("iq3xxs", "iq3xxs_grid", quants.IQ3_XXS, 256, 4),
    ("iq3s", "iq3s_grid", quants.IQ3_S, 512, 4),
    ("iq1s", "iq1s_grid", quants.IQ1_S, 2048, 8),
]

# The delta of IQ1_S / IQ1_M, which the Swift decoder writes as the literal 0.125.
for macro in ("IQ1S_DELTA", "IQ1M_DELTA"):
    assert re.search(r"#define\s+" + macro + r"\s+0\.125f\b", header), macro
for cls in (quants.IQ1_S, quants.IQ1_M):
    assert cls.delta.dtype == np.float32 and cls.delta == np.float32(0.125), cls.__name__
# IQ1_M shares IQ1_S's grid in both references.
assert quants.IQ1_M.grid_hex == quants.IQ1_S.grid_hex

sections = []
for swift_name, table, cls, entries, width in GRIDS:
    ctype, ggml = ggml_table(table)
    assert ctype == ("uint64_t" if width == 8 else "uint32_t"), (table, ctype)
    ours = gguf_entries(cls)
    assert len(ours) == entries and len(ggml) == entries, (table, len(ours), len(ggml))
    diff = [i for i in range(entries) if ours[i] != ggml[i]]
    assert not diff, f"{table}: gguf-py and ggml-common.h differ at entries {diff[:8]}"
    digits = 2 * width
    per_row = 32 // width  # as ggml-common.h lays them out: 4 uint64 or 8 uint32 per line
    rows = [", ".join(f"0x{v:0{digits}x}" for v in ours[i:i + per_row]) + ","
            for i in range(0, entries, per_row)]
    sections.append((swift_name, table, cls.__name__, entries, width, rows))

ctype, ksigns_ggml = ggml_table("ksigns_iq2xs")
assert ctype == "uint8_t"
ksigns = list(quants.IQ2_XXS.ksigns)
assert ksigns == ksigns_ggml, "ksigns: gguf-py and ggml-common.h differ"
ksigns_rows = [", ".join(f"0x{v:02x}" for v in ksigns[i:i + 16]) + "," for i in range(0, 128, 16)]

lines = [
    "// Generated by scripts/make-iq-grids.py from gguf-py 0.19.0 gguf/quants.py (each IQ class's grid,",
    "// built by `__Quant.init_grid` from its `grid_hex`) and checked entry for entry against llama.cpp",
    f"// {HEADER_REL}. Do not edit: re-run the script.",
    "",
    "/// The code books of the ggml IQ types as text in ggml-common.h's notation: one little-endian",
    "/// integer per grid entry, byte j holding element j (IQ2/IQ3: the unsigned magnitude; IQ1_S: an int8",
    "/// in −1 … 1). String literals rather than array literals, which type-check slowly at this size;",
    "/// `GGMLIQGrids` parses them once.",
    "enum GGMLIQGridData {",
]
for swift_name, table, cls_name, entries, width, rows in sections:
    lines.append(f"    /// ggml-common.h `{table}` ({entries} × uint{8 * width}_t), gguf-py `{cls_name}.grid`.")
    lines.append(f'    static let {swift_name} = """')
    lines.extend("        " + r for r in rows)
    lines.append('        """')
    lines.append("")
lines.append("    /// ggml-common.h `ksigns_iq2xs` (128 × uint8_t), gguf-py `IQ2_XXS.ksigns`: seven sign bits and")
lines.append("    /// their parity as the eighth.")
lines.append('    static let ksigns = """')
lines.extend("        " + r for r in ksigns_rows)
lines.append('        """')
lines.append("}")

with open(OUT, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
print(f"wrote {os.path.relpath(OUT, ROOT)}: " + ", ".join(f"{s[0]} {s[3]}" for s in sections) + ", ksigns 128")
