# bench/lib-eval.sh — shared by bench/eval-quant.sh and bench/eval-quant-synthetic.sh (source it,
# don't run it): llama-perplexity against `quanta eval` on GGUF files, the shared protocol
# (wikitext-2-raw test, ctx 512, -t 2), PPL, tokens/s and peak RSS of each, as one table.
#
# Conventions of bench/eval.sh: llama.cpp's tokens/s from its log timestamps ("calculating
# perplexity" → "Final estimate", i.e. after the model load, as quanta's tokens_per_second counts
# only the evaluation); quanta's from its --json; when OPENBLAS_CORETYPE is set, quanta runs as
# the environment says and once more under `env -u OPENBLAS_CORETYPE` (OpenBLAS's own CPU
# detection), both printed. Peak RSS (VmRSS, sampled by bench/peak_memory.py every 50 ms) of
# each tool; MB = 2^20 bytes throughout (file sizes too).
#
# Functions (after le_init): le_quantize, le_file_type, le_run_type, le_table. Results of
# le_run_type are kept in the LE_ROWS array, one "key=value ..." string per quanta run.

LE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LE_ROOT=$(cd "$LE_HERE/.." && pwd)
LE_TEXT=$LE_ROOT/data/wikitext-2-raw-test.txt
LE_CTX=512
LE_PYTHON=${PYTHON:-python3}
LE_ROWS=()

# le_init QUANTA_BIN [LLAMA_BIN_DIR] — le_init_quanta, then le_init_llama.
le_init() {
    le_init_quanta "${1:?usage: QUANTA_BIN [LLAMA_BIN_DIR]}"
    le_init_llama "${2:-$LE_ROOT/vendor/llama.cpp-build/bin}"
}

# le_init_quanta QUANTA_BIN — snapshots quanta (it may be rebuilt during the run; the copy is
# removed at exit) as LE_QUANTA, checks numpy, cd's to the repository (quanta finds its default
# calibration text from there) and prints the machine.
le_init_quanta() {
    local q=$1
    [ -x "$q" ] || { echo "error: $q is not an executable (run 'make build')" >&2; exit 2; }
    "$LE_PYTHON" -c 'import numpy' 2>/dev/null || { echo "error: $LE_PYTHON has no numpy" >&2; exit 2; }
    LE_QUANTA_ORIG=$(realpath "$q")
    LE_QUANTA=$(mktemp /tmp/quanta-snapshot.XXXXXX)
    cp "$LE_QUANTA_ORIG" "$LE_QUANTA"
    chmod +x "$LE_QUANTA"
    trap 'rm -f "$LE_QUANTA"' EXIT
    cd "$LE_ROOT"
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "quanta:  $LE_QUANTA_ORIG (built $(stat -c '%y' "$LE_QUANTA_ORIG" | cut -d. -f1), run from a snapshot copy)"
    echo "OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(unset)}"
}

# le_init_llama LLAMA_BIN_DIR — checks llama-perplexity and llama-quantize, sets LE_BIN and
# LD_LIBRARY_PATH.
le_init_llama() {
    local b=$1 tool
    [ -d "$b" ] || { echo "error: $b: no llama.cpp bin directory" >&2; exit 2; }
    LE_BIN=$(realpath "$b")
    for tool in llama-perplexity llama-quantize; do
        [ -x "$LE_BIN/$tool" ] || { echo "error: $LE_BIN/$tool is missing" >&2; exit 2; }
    done
    export LD_LIBRARY_PATH="$LE_BIN:${LD_LIBRARY_PATH:-}"
    echo "llama:   $LE_BIN"
}

# le_smollm2_tokenizer DIR — SmolLM2's tokenizer files, by `quanta convert --from gguf --to
# safetensors --dtype f32` of the shipped GGUF into DIR (once; also leaves its weights there).
le_smollm2_tokenizer() {
    local dir=$1
    [ -f "$dir/.complete" ] && return 0
    rm -rf "$dir"
    echo "quanta convert SmolLM2 GGUF → $dir (for its tokenizer files) …" >&2
    if ! "$LE_QUANTA" convert --quiet --from gguf --to safetensors --dtype f32 \
        "$LE_ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$dir" >&2; then
        echo "error: quanta convert --from gguf --to safetensors failed: no SmolLM2 tokenizer, cannot go on" >&2
        exit 1
    fi
    [ -f "$dir/tokenizer.json" ] || { echo "error: quanta convert wrote no tokenizer.json in $dir" >&2; exit 1; }
    touch "$dir/.complete"
}

# le_synthetic DIR ARGS… — bench/make_synthetic_model.py DIR ARGS… once (DIR/.complete marks a
# finished model); prints its time and size.
le_synthetic() {
    local dir=$1; shift
    if [ ! -f "$dir/.complete" ]; then
        echo "making the synthetic model: make_synthetic_model.py $dir $* …" >&2
        local t0=$SECONDS
        "$LE_PYTHON" "$LE_HERE/make_synthetic_model.py" "$dir" "$@" >&2
        echo "  made in $((SECONDS - t0)) s" >&2
        touch "$dir/.complete"
    fi
    echo "synthetic model: $dir, $(du -sb --exclude=.complete "$dir" | awk '{printf "%.2f GB (%.0f MB)", $1/1e9, $1/2^20}')"
}

# le_mb FILE — size in MB (2^20 bytes).
le_mb() { "$LE_PYTHON" -c "import os, sys; print(f'{os.path.getsize(sys.argv[1]) / 2**20:.1f}')" "$1"; }

# le_quantize SRC OUT TYPE — `llama-quantize --allow-requantize SRC OUT TYPE`, unless OUT exists and
# is newer than SRC (cached). Written to OUT.tmp first, so an interrupted run leaves no OUT.
le_quantize() {
    local src=$1 dst=$2 type=$3
    if [ -f "$dst" ] && [ "$dst" -nt "$src" ]; then return 0; fi
    echo "llama-quantize $(basename "$src") → $(basename "$dst") ($type) …" >&2
    mkdir -p "$(dirname "$dst")"
    if ! "$LE_BIN/llama-quantize" --allow-requantize "$src" "$dst.tmp" "$type" > "$dst.log" 2>&1; then
        echo "error: llama-quantize $src $type failed, see $dst.log" >&2
        rm -f "$dst.tmp"; return 1
    fi
    mv "$dst.tmp" "$dst"
}

# le_file_type FILE.gguf — the name of its general.file_type (F32, F16, BF16, Q8_0, …) or "?".
le_file_type() {
    "$LE_PYTHON" - "$1" <<'PY'
import struct, sys
NAMES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
         11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
         17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
f = open(sys.argv[1], "rb")
def u(fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]
def string(): return f.read(u("Q")).decode("utf-8", "replace")
def skip(t):
    if t == 8: f.seek(u("Q"), 1)
    elif t == 9:
        et, n = u("I"), u("Q")
        if et in SIZES: f.seek(SIZES[et] * n, 1)
        else:
            for _ in range(n): skip(et)
    else: f.seek(SIZES[t], 1)
try:
    assert f.read(4) == b"GGUF"
    u("I"); u("Q"); n_kv = u("Q")
    for _ in range(n_kv):
        key, t = string(), u("I")
        if key == "general.file_type" and t in (4, 5):
            v = u("I"); print(NAMES.get(v, f"type{v}")); sys.exit(0)
        skip(t)
except Exception:
    pass
print("?")
PY
}

# le_llama FILE CHUNKS LOG — llama-perplexity under peak_memory.py; sets L_PPL, L_TPS, L_RSS
# ("error" when the run failed).
le_llama() {
    local file=$1 chunks=$2 log=$3
    L_PPL=error L_TPS=error L_RSS=error
    if ! "$LE_PYTHON" "$LE_HERE/peak_memory.py" --json "$log.mem.json" -- \
        "$LE_BIN/llama-perplexity" -m "$file" -f "$LE_TEXT" -c "$LE_CTX" --chunks "$chunks" -t 2 > "$log" 2>&1; then
        echo "error: llama-perplexity on $file failed, see $log" >&2
        return 0
    fi
    read -r L_PPL L_TPS < <("$LE_PYTHON" - "$log" <<'PY'
import re, sys
stamps, tokens, ppl = {}, None, "error"
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+) ", line)
    t = int(m[1]) * 60 + int(m[2]) + int(m[3]) / 1e3 + int(m[4]) / 1e6 if m else None
    c = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+)", line)
    if c:
        tokens = int(c[1]) * int(c[2]); stamps["start"] = t
    f = re.search(r"Final estimate: PPL = (\S+)", line)
    if f:
        ppl = f[1]; stamps["end"] = t
try:
    tps = f"{tokens / (stamps['end'] - stamps['start']):.1f}"
except Exception:
    tps = "error"
print(ppl, tps)
PY
)
    L_RSS=$("$LE_PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['peak_vmrss_mb'])" "$log.mem.json")
}

# le_quanta FILE CHUNKS OUT_PREFIX ENV_ARGS… — `quanta eval` under peak_memory.py, run through
# `env ENV_ARGS…`; sets Q_PPL, Q_TPS, Q_RSS, Q_ANON, Q_KERNELS ("error" when the run failed).
le_quanta() {
    local file=$1 chunks=$2 prefix=$3; shift 3
    Q_PPL=error Q_TPS=error Q_RSS=error Q_ANON=error Q_KERNELS=?
    if ! "$LE_PYTHON" "$LE_HERE/peak_memory.py" --json "$prefix.mem.json" -- env "$@" \
        "$LE_QUANTA" eval "$file" --text "$LE_TEXT" --ctx "$LE_CTX" --chunks "$chunks" --json --quiet \
        > "$prefix.json" 2> "$prefix.err"; then
        echo "error: quanta eval on $file failed ($(tail -c 300 "$prefix.err" | tr '\n' ' ')), see $prefix.err" >&2
    fi
    read -r Q_PPL Q_TPS Q_KERNELS Q_RSS Q_ANON < <("$LE_PYTHON" - "$prefix.json" "$prefix.mem.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    ppl, tps, kernels = d["ppl"], f"{d['tokens_per_second']:.1f}", d.get("blas_kernels", "?")
except Exception:
    ppl, tps, kernels = "error", "error", "?"
try:
    m = json.load(open(sys.argv[2]))
    rss, anon = m["peak_vmrss_mb"], m["peak_rssanon_mb"]
except Exception:
    rss, anon = "error", "error"
print(ppl, tps, str(kernels).replace(" ", "_") or "?", rss, anon)
PY
)
}

# le_run_type TYPE FILE CHUNKS OUT_DIR — llama-perplexity once and quanta once (twice when
# OPENBLAS_CORETYPE is set) on FILE; appends one LE_ROWS entry per quanta run.
le_run_type() {
    local type=$1 file=$2 chunks=$3 out=$4 mb tag
    mb=$(le_mb "$file")
    echo "[$type] llama-perplexity, $chunks chunks …" >&2
    le_llama "$file" "$chunks" "$out/llama-$type.log"
    local runs=("as-is")
    [ -n "${OPENBLAS_CORETYPE:-}" ] && runs+=("detected")
    for tag in "${runs[@]}"; do
        echo "[$type] quanta eval ($tag) …" >&2
        if [ "$tag" = as-is ]; then
            le_quanta "$file" "$chunks" "$out/quanta-$type-$tag"
        else
            le_quanta "$file" "$chunks" "$out/quanta-$type-$tag" -u OPENBLAS_CORETYPE
        fi
        local how
        if [ "$tag" = as-is ]; then how=${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE}; how=${how:-as-is}
        else how=CPU-detected; fi
        LE_ROWS+=("type=$type mb=$mb lppl=$L_PPL qppl=$Q_PPL ltps=$L_TPS qtps=$Q_TPS lrss=$L_RSS qrss=$Q_RSS qanon=$Q_ANON kernels=$Q_KERNELS run=$how")
    done
}

# le_field ROW KEY — one value of an LE_ROWS entry.
le_field() { local kv; for kv in $1; do [ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }; done; echo "?"; }

# le_table TOLERANCE — prints LE_ROWS as a table. TOLERANCE: "0.02" (|ΔPPL| ≤ 0.02) or "1%"
# (|ΔPPL| ≤ 1 % of llama.cpp's PPL); a row outside it, or with a non-finite PPL, is flagged.
# Returns 1 when any row is flagged or failed.
le_table() {
    local tol=$1
    "$LE_PYTHON" - "$tol" "${LE_ROWS[@]}" <<'PY'
import math, sys
tol = sys.argv[1]
rel = tol.endswith("%")
limit = float(tol.rstrip("%")) / (100 if rel else 1)
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in sys.argv[2:]]
def num(x):
    try: return float(x)
    except ValueError: return None
head = ("type", "file MB", "llama PPL", "quanta PPL", "|ΔPPL|", "llama tok/s", "quanta tok/s", "ratio",
        "llama RSS MB", "quanta RSS MB", "check", "quanta run (OpenBLAS kernels)")
table = []
bad = 0
for r in rows:
    lp, qp, lt, qt = num(r["lppl"]), num(r["qppl"]), num(r["ltps"]), num(r["qtps"])
    if lp is not None and qp is not None and math.isfinite(lp) and math.isfinite(qp):
        d = abs(qp - lp)
        delta = f"{d:.4f}" + (f" ({100 * d / lp:.2f}%)" if rel and lp else "")
        check = "ok" if d <= (limit * lp if rel else limit) else f"FLAG Δ>{tol}"
    else:
        delta, check = "-", "FLAG error/non-finite"
    bad += check != "ok"
    ppl = lambda x, s: f"{x:.4f}" if x is not None else s
    table.append((r["type"], r["mb"], ppl(lp, r["lppl"]), ppl(qp, r["qppl"]), delta, r["ltps"], r["qtps"],
                  f"{qt / lt:.3f}" if lt and qt else "-", r["lrss"], r["qrss"], check, f"{r['run']} ({r['kernels']})"))
widths = [max(len(str(row[i])) for row in [head] + table) for i in range(len(head))]
line = lambda row: "| " + " | ".join(str(v).rjust(w) if 0 < i < 10 else str(v).ljust(w)
                                     for i, (v, w) in enumerate(zip(row, widths))) + " |"
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for row in table:
    print(line(row))
print(f"ratio = quanta / llama.cpp tokens/s; check: |ΔPPL| ≤ {tol}{' of llama PPL' if rel else ''}"
      f" and both finite: {len(rows) - bad}/{len(rows)} rows ok")
sys.exit(1 if bad else 0)
PY
}
