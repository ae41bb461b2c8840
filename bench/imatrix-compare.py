"""Compare two llama.cpp GGUF importance matrices value by value: ours against llama-imatrix's.

For every entry (weight) both files must hold, with the same counts, chunk count and chunk size;
then every value of every entry's mean x² (in_sum2 / counts, what llama-quantize hands its
quantizers) is compared: relative difference |a − b| / |b| (0 where both are 0). Prints the median,
99th percentile and maximum over all values, and the worst entries.

Usage: python bench/imatrix-compare.py OURS.gguf REFERENCE.gguf [--median 1e-3] [--p99 1e-2] [--worst 5]
Exit status: 0 when the median and p99 are within the targets and the files agree on names,
counts and metadata; 1 otherwise. Needs gguf-py (venv-ref/bin/python has gguf 0.19.0).
"""
import argparse
import sys

import gguf
import numpy as np


def load(path):
    reader = gguf.GGUFReader(path)
    meta = {k: reader.fields[k].contents() for k in ("imatrix.chunk_count", "imatrix.chunk_size", "imatrix.datasets")
            if k in reader.fields}
    sums, counts = {}, {}
    for t in reader.tensors:
        if t.name.endswith(".in_sum2"):
            sums[t.name[: -len(".in_sum2")]] = np.asarray(t.data, dtype=np.float32).reshape(-1)
        elif t.name.endswith(".counts"):
            counts[t.name[: -len(".counts")]] = np.asarray(t.data, dtype=np.float32).reshape(-1)
    return meta, sums, counts


def mean_square(s, c):
    per = s.reshape(len(c), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(c[:, None] > 0, per / c[:, None], 1.0)
    return out.reshape(-1).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("reference")
    ap.add_argument("--median", type=float, default=1e-3)
    ap.add_argument("--p99", type=float, default=1e-2)
    ap.add_argument("--worst", type=int, default=5)
    args = ap.parse_args()
    meta_a, sums_a, counts_a = load(args.ours)
    meta_b, sums_b, counts_b = load(args.reference)
    ok = True
    for key in ("imatrix.chunk_count", "imatrix.chunk_size"):
        if meta_a.get(key) != meta_b.get(key):
            print(f"metadata {key}: ours {meta_a.get(key)}, reference {meta_b.get(key)}")
            ok = False
    only_a, only_b = sorted(set(sums_a) - set(sums_b)), sorted(set(sums_b) - set(sums_a))
    if only_a or only_b:
        print(f"entries only in ours: {only_a[:8]}{' …' if len(only_a) > 8 else ''}")
        print(f"entries only in the reference: {only_b[:8]}{' …' if len(only_b) > 8 else ''}")
        ok = False
    rel_all, per_entry = [], []
    for name in sorted(set(sums_a) & set(sums_b)):
        if not np.array_equal(counts_a[name], counts_b[name]):
            print(f"{name}: counts differ: ours {counts_a[name][:4]}, reference {counts_b[name][:4]}")
            ok = False
            continue
        a, b = mean_square(sums_a[name], counts_a[name]), mean_square(sums_b[name], counts_b[name])
        if a.shape != b.shape:
            print(f"{name}: {a.size} values, reference {b.size}")
            ok = False
            continue
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        scale = np.abs(b.astype(np.float64))
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), np.where(diff > 0, np.inf, 0.0))
        rel_all.append(rel)
        per_entry.append((float(rel.max()), float(np.median(rel)), name))
    if not rel_all:
        print("no entries to compare")
        return 1
    rel = np.concatenate(rel_all)
    median, p99, worst = float(np.median(rel)), float(np.percentile(rel, 99)), float(rel.max())
    print(f"entries: {len(per_entry)} compared, values: {rel.size}, chunks: {meta_b.get('imatrix.chunk_count')} × {meta_b.get('imatrix.chunk_size')}")
    print(f"relative difference of mean x²: median {median:.3e}  p99 {p99:.3e}  max {worst:.3e}  "
          f"(targets: median ≤ {args.median:g}, p99 ≤ {args.p99:g})")
    for m, med, name in sorted(per_entry, reverse=True)[: args.worst]:
        print(f"  worst: {name:32s} max {m:.3e}  median {med:.3e}")
    if median > args.median or p99 > args.p99:
        ok = False
    print("MATCH" if ok else "DIFFERENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
