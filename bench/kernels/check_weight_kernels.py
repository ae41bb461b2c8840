#!/usr/bin/env python3
"""Checks the stored-weight kernels of Sources/CQuantaKernels (weights_decode.c, weights_acts.c,
weights_unpack.c; declared in include/cquantaweights.h) against their references:

  * tile decoders: bit-exact (every float bit) with gguf-py 0.19.0 `gguf.quants.dequantize`, on
    random block bytes (f16 scale fields forced finite, plus zero / subnormal / largest scales;
    F16 and BF16 on all 65536 patterns), from a misaligned source;
  * unpackers: q in the type's range, bs / has_min as documented, fl(fl(scale*q) + min) (resp.
    fl(scale*q)) bit-equal to gguf-py's value, and scale*q + min in f64 within 1e-6 of the terms;
  * activation quantizers and f16/bf16 rounding: byte for byte against ggml-cpu itself (the
    llama.cpp build's libggml-cpu.so `from_float` of Q8_0/Q8_1/Q8_K, ggml_cpu_fp32_to_fp16/bf16),
    through the C harness ggml_acts_harness.c (exhaustive over all 2^32 floats for the roundings);
  * throughput of each decoder on one core (GB/s of output floats, cache-resident tile).

The kernels are compiled at run time into /tmp in several variants: clang with the target_clones
dispatch SwiftPM builds (-O2, and -O0), clang without clones for x86-64-v3 and baseline x86-64,
and gcc (-O3 -march=native in GNU mode, where contraction is on by default; -O2 baseline), with
the IQ4 decoders' runtime dispatch pinned to each of its AVX-512 / AVX2 / generic paths. The
activation checks (exhaustive roundings) and the throughput lines are for the first variant.

Needs numpy and gguf==0.19.0 (e.g. python3 -m venv /tmp/venv-kern &&
/tmp/venv-kern/bin/pip install gguf==0.19.0 numpy), clang and/or gcc, and for the activation
checks a llama.cpp build with bin/libggml-cpu.so + libggml-base.so (default
vendor/llama.cpp-build; override with --ggml-build, or --skip-ggml).

Prints one line per check and "N passed, M failed"; exits 1 on any failure.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf.quants import dequantize
except ImportError:  # pragma: no cover
    sys.exit("needs gguf==0.19.0: pip install gguf==0.19.0 numpy")

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "Sources" / "CQuantaKernels"
HERE = Path(__file__).resolve().parent
SOURCES = [KERNELS / "weights_decode.c", KERNELS / "weights_acts.c", KERNELS / "weights_unpack.c"]
LLAMA_SRC = ROOT / "vendor" / "llama-cpp-python-0.3.36" / "vendor" / "llama.cpp" / "ggml"

passed = 0
failed = 0


def report(ok: bool, name: str, detail: str) -> None:
    global passed, failed
    print(f"{'PASS' if ok else 'FAIL'} {name} {detail}", flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


# --------------------------------------------------------------------------------------------
# Types: (gguf type, C name, offsets of the f16 fields in a block, unpack bs, has_min, q range)

TYPES = [
    (QT.Q4_0, "q4_0", [0], 32, 0, (-8, 7)),
    (QT.Q4_1, "q4_1", [0, 2], 32, 1, (0, 15)),
    (QT.Q5_0, "q5_0", [0], 32, 0, (-16, 15)),
    (QT.Q5_1, "q5_1", [0, 2], 32, 1, (0, 31)),
    (QT.Q8_0, "q8_0", [0], 32, 0, (-128, 127)),
    (QT.Q2_K, "q2_K", [80, 82], 16, 1, (0, 3)),
    (QT.Q3_K, "q3_K", [108], 16, 0, (-4, 3)),
    (QT.Q4_K, "q4_K", [0, 2], 32, 1, (0, 15)),
    (QT.Q5_K, "q5_K", [0, 2], 32, 1, (0, 31)),
    (QT.Q6_K, "q6_K", [208], 16, 0, (-32, 31)),
    (QT.IQ4_NL, "iq4_nl", [0], 32, 0, (-127, 113)),
    (QT.IQ4_XS, "iq4_xs", [0], 32, 0, (-127, 113)),
]

SPECIAL_SCALES = [0x0000, 0x8000, 0x0001, 0x83FF, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0xBC00]


def random_blocks(qtype, f16_offsets, nblocks: int, rng) -> np.ndarray:
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    data = rng.integers(0, 256, size=(nblocks, type_size), dtype=np.uint8)
    for off in f16_offsets:
        hi = data[:, off + 1]
        # exponent 31 (inf / NaN) -> clear the exponent's top bit: a finite value, same mantissa
        data[:, off + 1] = np.where((hi & 0x7C) == 0x7C, hi & 0xBF, hi)
    # a few blocks with edge-case scales in every f16 field
    for i, s in enumerate(SPECIAL_SCALES[: min(nblocks, len(SPECIAL_SCALES))]):
        for off in f16_offsets:
            data[i, off] = s & 0xFF
            data[i, off + 1] = s >> 8
    return data


def misaligned_copy(data: np.ndarray):
    """The bytes of `data` at an odd address (blocks in a GGUF file are not aligned)."""
    raw = data.tobytes()
    buf = ctypes.create_string_buffer(len(raw) + 1)
    ctypes.memmove(ctypes.addressof(buf) + 1, raw, len(raw))
    return buf, ctypes.c_void_p(ctypes.addressof(buf) + 1)


def ptr(a: np.ndarray):
    return ctypes.c_void_p(a.ctypes.data)


# --------------------------------------------------------------------------------------------
# Building

def find_clang() -> str | None:
    for c in ("/opt/swift/usr/bin/clang", shutil.which("clang") or ""):
        if c and os.path.exists(c):
            return c
    return None


def variants():
    clang = find_clang()
    gcc = shutil.which("gcc")
    common = ["-std=c11", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", f"-I{KERNELS / 'include'}"]
    out = []
    if clang:
        out.append(("clang-O2-clones", [clang, "-O2", *common]))
        out.append(("clang-O0-clones", [clang, "-O0", *common]))
        # Without the clones (the macro needs __linux__): one fixed target each.
        # QUANTA_TEST_CPU_LEVEL pins the IQ4 decoders' runtime dispatch to the AVX2 / generic path.
        out.append(("clang-O3-v3", [clang, "-O3", "-U__linux__", "-march=x86-64-v3", "-DQUANTA_TEST_CPU_LEVEL=1",
                                    "-Wno-builtin-macro-redefined", *common]))
        out.append(("clang-O3-base", [clang, "-O3", "-U__linux__", "-DQUANTA_TEST_CPU_LEVEL=0",
                                      "-Wno-builtin-macro-redefined", *common]))
    if gcc:
        out.append(("gcc-O3-native-gnu11", [gcc, "-O3", "-march=native", *common, "-std=gnu11"]))  # GNU mode: contraction on by default
        out.append(("gcc-O2-base", [gcc, "-O2", "-DQUANTA_TEST_CPU_LEVEL=0", *common]))
        out.append(("gcc-O2-avx2", [gcc, "-O2", "-DQUANTA_TEST_CPU_LEVEL=1", *common]))
    return out


def build(name: str, cmd: list[str], workdir: Path) -> Path | None:
    d = workdir / name
    d.mkdir(parents=True, exist_ok=True)
    so = d / "libquantaweights.so"
    full = [*cmd, "-Wl,-soname,libquantaweights.so", *map(str, SOURCES), str(HERE / "decode_bench.c"), "-o", str(so), "-lm"]
    r = subprocess.run(full, capture_output=True, text=True)
    report(r.returncode == 0, f"[{name}] build", (" ".join(full[:3]) + " ...") if r.returncode == 0 else r.stderr[-2000:])
    return so if r.returncode == 0 else None


# --------------------------------------------------------------------------------------------
# Checks

def check_decoders(lib, variant: str, rng) -> None:
    # F16 / BF16: every 16-bit pattern (inf, NaN payloads, subnormals), then random ones.
    for qtype, cname in ((QT.F16, "f16"), (QT.BF16, "bf16")):
        patterns = np.concatenate([np.arange(65536, dtype=np.uint16),
                                   rng.integers(0, 65536, size=40000, dtype=np.uint16)])
        data = patterns.view(np.uint8)
        ref = dequantize(data.reshape(8, -1), qtype).ravel()
        ours = np.empty(patterns.size, dtype=np.float32)
        buf, src = misaligned_copy(data)
        getattr(lib, f"quanta_decode_{cname}")(src, ptr(ours), ctypes.c_size_t(patterns.size))
        bad = int(np.count_nonzero(ours.view(np.uint32) != ref.view(np.uint32)))
        report(bad == 0, f"[{variant}] decode {qtype.name}",
               f"{patterns.size} values (all 65536 patterns + random): {bad} bit mismatches vs gguf-py")
    for qtype, cname, offs, _, _, _ in TYPES:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        nblocks = 8192 if block_size == 32 else 2048
        data = random_blocks(qtype, offs, nblocks, rng)
        ref = dequantize(data.reshape(16, -1), qtype).ravel()
        ours = np.empty(nblocks * block_size, dtype=np.float32)
        buf, src = misaligned_copy(data)
        getattr(lib, f"quanta_decode_{cname}")(src, ptr(ours), ctypes.c_size_t(nblocks))
        mism = ours.view(np.uint32) != ref.view(np.uint32)
        bad = int(np.count_nonzero(mism))
        detail = f"{nblocks} random blocks ({ours.size} values): {bad} bit mismatches vs gguf-py"
        if bad:
            i = int(np.flatnonzero(mism)[0])
            detail += f" (first at {i}: ours {ours[i]!r} ref {ref[i]!r})"
        report(bad == 0, f"[{variant}] decode {qtype.name}", detail)


def check_unpackers(lib, variant: str, rng) -> None:
    for qtype, cname, offs, bs_expect, min_expect, (qlo, qhi) in TYPES:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        nrows, k = 8, 2048
        nblocks = nrows * k // block_size
        data = random_blocks(qtype, offs, nblocks, rng)
        ref = dequantize(data.reshape(nrows, -1), qtype).reshape(nrows, k)
        buf, src = misaligned_copy(data)
        q = np.empty((nrows, k), dtype=np.int8)
        nsub = k // bs_expect
        scale = np.empty((nrows, nsub), dtype=np.float32)
        mn = np.full((nrows, nsub), np.nan, dtype=np.float32)
        has_min = ctypes.c_int(-1)
        fn = getattr(lib, f"quanta_unpack_{cname}")
        bs = fn(src, ctypes.c_size_t(nrows), ctypes.c_size_t(k), ptr(q), ptr(scale), ptr(mn), ctypes.byref(has_min))
        problems = []
        if bs != bs_expect or has_min.value != min_expect:
            problems.append(f"returned bs {bs} has_min {has_min.value}, expected {bs_expect} {min_expect}")
        else:
            if q.min() < qlo or q.max() > qhi:
                problems.append(f"q range [{q.min()}, {q.max()}] outside [{qlo}, {qhi}]")
            s_full = np.repeat(scale, bs, axis=1)
            prod = s_full * q.astype(np.float32)  # f32, one rounding
            if min_expect:
                m_full = np.repeat(mn, bs, axis=1)
                rec = prod + m_full  # f32, second rounding
            else:
                m_full = np.zeros_like(s_full)
                rec = prod
            exact_bad = int(np.count_nonzero(rec.view(np.uint32) != ref.view(np.uint32)))
            if exact_bad:
                problems.append(f"{exact_bad} values where fl(fl(scale*q)+min) != gguf-py")
            sq = s_full.astype(np.float64) * q.astype(np.float64)
            exact = sq + m_full.astype(np.float64)
            tol = 1e-6 * (np.abs(sq) + np.abs(m_full.astype(np.float64))) + 1e-30
            tol_bad = int(np.count_nonzero(np.abs(exact - ref.astype(np.float64)) > tol))
            if tol_bad:
                problems.append(f"{tol_bad} values where scale*q+min (f64) differs from gguf-py by > 1e-6 of the terms")
            # min may be NULL: same q and scale, nothing written
            q2 = np.empty_like(q)
            scale2 = np.empty_like(scale)
            hm2 = ctypes.c_int(-1)
            fn(src, ctypes.c_size_t(nrows), ctypes.c_size_t(k), ptr(q2), ptr(scale2), None, ctypes.byref(hm2))
            if not (np.array_equal(q, q2) and np.array_equal(scale.view(np.uint32), scale2.view(np.uint32))
                    and hm2.value == min_expect):
                problems.append("min=NULL call differs")
            if not min_expect and not np.all(np.isnan(mn)):
                problems.append("wrote a min for a type without one")
        report(not problems, f"[{variant}] unpack {qtype.name}",
               f"{nrows} rows x {k}: bs {bs}, has_min {has_min.value}, "
               + ("; ".join(problems) if problems else "q in range, float recomposition bit-exact, f64 within 1e-6"))


def throughput(lib, variant: str, rng) -> None:
    bench = lib.quanta_bench_decode
    bench.restype = ctypes.c_double
    bench.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_double]
    outputs = 65536  # 256 KB of floats: the tile stays in L2, as when feeding sgemm
    entries = [(QT.F16, "f16", 1, 2), (QT.BF16, "bf16", 1, 2)]
    entries += [(t, c, gguf.GGML_QUANT_SIZES[t][0], gguf.GGML_QUANT_SIZES[t][1]) for t, c, *_ in TYPES]
    for qtype, cname, block_size, type_size in entries:
        n = outputs // block_size
        if qtype in (QT.F16, QT.BF16):
            data = rng.integers(0, 0x7C00, size=n, dtype=np.uint16).view(np.uint8)
        else:
            data = random_blocks(qtype, next(t[2] for t in TYPES if t[0] == qtype), n, rng)
        data = np.ascontiguousarray(data)
        dst = np.empty(outputs, dtype=np.float32)
        fn = ctypes.cast(getattr(lib, f"quanta_decode_{cname}"), ctypes.c_void_p)
        # best of 5 short runs: the machine may be shared (the other core busy building)
        secs = min(bench(fn, ptr(data), ptr(dst), ctypes.c_size_t(n), ctypes.c_double(0.06)) for _ in range(5))
        gbs = outputs * 4 / secs / 1e9
        print(f"THROUGHPUT [{variant}] decode {qtype.name:7s} {gbs:6.2f} GB/s of f32 output "
              f"({outputs / secs / 1e9:.2f} G values/s, one core, {outputs}-value tile)", flush=True)


def run_ggml_harness(so: Path, variant: str, build_dir: Path, workdir: Path, exhaustive: bool) -> None:
    bindir = build_dir / "bin"
    if not (bindir / "libggml-cpu.so").exists() or not (bindir / "libggml-base.so").exists():
        report(False, f"[{variant}] ggml harness", f"no libggml-cpu.so / libggml-base.so in {bindir} (use --skip-ggml)")
        return
    cc = shutil.which("gcc") or find_clang()
    exe = workdir / f"ggml_acts_harness-{variant}"
    # ggml's own flags (GNU C, -O3 -march=native) so ggml-impl.h's inline conversion compiles as in ggml-cpu.
    cmd = [cc, "-std=gnu11", "-O3", "-march=native", "-w",
           f"-I{LLAMA_SRC / 'include'}", f"-I{LLAMA_SRC / 'src'}", f"-I{KERNELS / 'include'}",
           str(HERE / "ggml_acts_harness.c"), str(so), f"-L{bindir}", "-lggml-cpu", "-lggml-base", "-lm",
           f"-Wl,-rpath,{bindir}", f"-Wl,-rpath,{so.parent}", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        report(False, f"[{variant}] ggml harness build", r.stderr[-2000:])
        return
    r = subprocess.run([str(exe)] + ([] if exhaustive else ["--quick"]), capture_output=True, text=True)
    seen = 0
    for line in r.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASS", "FAIL"):
            name, _, detail = rest.partition(" ")
            report(word == "PASS", f"[{variant}] {name}", detail)
            seen += 1
        else:
            print(f"{word} [{variant}] {rest}")
    if r.returncode != 0 and not failed:
        report(False, f"[{variant}] ggml harness", f"exit {r.returncode}: {r.stderr[-1000:]}")
    if seen == 0:
        report(False, f"[{variant}] ggml harness", f"no results (exit {r.returncode}): {r.stderr[-1000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ggml-build", type=Path, default=ROOT / "vendor" / "llama.cpp-build")
    ap.add_argument("--skip-ggml", action="store_true", help="skip the activation checks against ggml")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/quanta-weight-kernels"))
    ap.add_argument("--seed", type=int, default=20240513)
    ap.add_argument("--only", action="append", help="run only the named build variant(s)")
    args = ap.parse_args()

    print(f"gguf-py from {Path(gguf.__file__).parent}, numpy {np.__version__}")
    try:
        from importlib.metadata import version
        v = version("gguf")
        report(v == "0.19.0", "gguf-py version", f"{v} (reference is 0.19.0)")
    except Exception as e:  # pragma: no cover
        report(False, "gguf-py version", str(e))

    args.workdir.mkdir(parents=True, exist_ok=True)
    vs = variants()
    if args.only:
        vs = [v for v in vs if v[0] in args.only]
    if not vs:
        report(False, "compilers", "neither clang nor gcc found")
    for i, (name, cmd) in enumerate(vs):
        so = build(name, cmd, args.workdir)
        if so is None:
            continue
        lib = ctypes.CDLL(str(so))
        rng = np.random.default_rng(args.seed + i)
        check_decoders(lib, name, rng)
        check_unpackers(lib, name, rng)
        if not args.skip_ggml:
            run_ggml_harness(so, name, args.ggml_build, args.workdir, exhaustive=(i == 0))
        if i == 0:
            throughput(lib, name, rng)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
