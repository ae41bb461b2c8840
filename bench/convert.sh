#!/usr/bin/env bash
# bench/convert.sh QUANTA_BIN — resharding a 2.3 GB float32 Llama-shaped checkpoint:
# `quanta convert --to safetensors --max-shard-size 500MB` against `cp -r` of the same files
# (the floor for any tool that rewrites them), plus a `--dtype bf16` conversion.
# Prints wall time, the speed ratio cp_time / quanta_time (target ≥ 0.70) and quanta's peak RSS
# (target ≤ 300 MB). The synthetic model stays in bench/out/ for reruns; outputs are removed.
#
# Environment: PYTHON (python3 with numpy), REPEAT / REPEAT_COLD (timed runs per case, default 5 / 3),
# BENCH_MAX_LOAD (wait, up to BENCH_LOAD_WAIT seconds, until the 1-minute load average is below
# this; default: the number of cores).
set -euo pipefail

QUANTA=${1:?usage: bench/convert.sh QUANTA_BIN}
[ -x "$QUANTA" ] || { echo "error: $QUANTA is not an executable (run 'make build')" >&2; exit 2; }
QUANTA=$(cd "$(dirname "$QUANTA")" && pwd)/$(basename "$QUANTA")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/out
MODEL=$OUT/synthetic-llama-f32
PYTHON=${PYTHON:-python3}
REPEAT=${REPEAT:-5}
REPEAT_COLD=${REPEAT_COLD:-3}
CORES=$(nproc)
BENCH_MAX_LOAD=${BENCH_MAX_LOAD:-$CORES}
BENCH_LOAD_WAIT=${BENCH_LOAD_WAIT:-300}
SHARD=500MB
RSS_TARGET_MB=300
RATIO_TARGET=0.70

COPY=$OUT/cp-copy RESHARD=$OUT/resharded SAME=$OUT/same-layout BF16=$OUT/bf16
cleanup() { rm -rf "$COPY" "$RESHARD" "$SAME" "$BF16" "$OUT"/.*.quanta-tmp-* "$OUT"/time.txt; }
trap cleanup EXIT
mkdir -p "$OUT"
cleanup

# GNU time for peak RSS (Debian package `time`).
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing GNU time (apt-get install time)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    else
        echo "error: /usr/bin/time is missing: apt-get install time" >&2; exit 2
    fi
fi

# --- the input: made once, kept for reruns -------------------------------------------------
if [ ! -f "$MODEL/.complete" ]; then
    "$PYTHON" -c 'import numpy' 2>/dev/null || { echo "error: $PYTHON has no numpy (pip install numpy)" >&2; exit 2; }
    rm -rf "$MODEL"
    echo "making the synthetic model (once) …"
    "$PYTHON" "$HERE/make_synthetic_model.py" "$MODEL"
    touch "$MODEL/.complete"
fi
MODEL_BYTES=$(du -sb --exclude=.complete "$MODEL" | cut -f1)

# --- machine -------------------------------------------------------------------------------
echo "date:       $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:    $CORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "filesystem: $(df -PT "$OUT" | awk 'NR==2 {print $2 " on " $1}')"
echo "quanta:     $QUANTA"
echo "cp:         $(cp --version | head -1)"
echo "input:      $MODEL ($(awk -v b="$MODEL_BYTES" 'BEGIN {printf "%.2f GB", b/1e9}'), $(ls "$MODEL" | tr '\n' ' '))"
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg) at start"

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits (bounded) for the shared machine to calm down, and says what the load was.
wait_for_quiet() {
    local waited=0
    while awk -v l="$(load1)" -v m="$BENCH_MAX_LOAD" 'BEGIN {exit !(l >= m)}' && [ "$waited" -lt "$BENCH_LOAD_WAIT" ]; do
        sleep 10; waited=$((waited + 10))
    done
    [ "$waited" -gt 0 ] && echo "  (waited ${waited}s for load < $BENCH_MAX_LOAD)"
    return 0
}

# Evicts the input from the page cache (posix_fadvise DONTNEED via dd; no root needed).
evict_input() {
    sync
    for f in "$MODEL"/*; do dd if="$f" iflag=nocache count=0 status=none; done
    if command -v fincore >/dev/null; then
        echo "  input resident after eviction: $(fincore -b --noheadings "$MODEL/model.safetensors" | awk '{printf "%.0f MB", $1/1e6}')"
    fi
}

# timed LABEL CMD… — runs CMD under GNU time; sets WALL (s), CPU (user+sys s) and RSS_MB.
timed() {
    local label=$1; shift
    local report=$OUT/time.txt
    local status=0
    /usr/bin/time -v -o "$report" "$@" >/dev/null || status=$?
    if [ "$status" != 0 ]; then
        echo "error: '$*' exited with $status" >&2; cat "$report" >&2; exit 1
    fi
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$report")
    CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$report")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$report")
    printf "  %-26s %6.2f s wall  %6.2f s cpu  %5s MB peak RSS   (load %s)\n" "$label" "$WALL" "$CPU" "$RSS_MB" "$(load1)"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
min() { printf '%s\n' "$@" | sort -g | head -1; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }

# Every run starts alike: no output of an earlier run, no dirty pages waiting for writeback.
fresh() { rm -rf "$COPY" "$RESHARD" "$SAME" "$BF16"; sync; sleep 1; }

CP_CMD=(cp -r "$MODEL" "$COPY")
RESHARD_CMD=("$QUANTA" convert --quiet --to safetensors --max-shard-size "$SHARD" "$MODEL" "$RESHARD")
# The same work with cp's output layout (one file), to tell the tool from the layout.
SAME_CMD=("$QUANTA" convert --quiet --to safetensors --max-shard-size 5GB "$MODEL" "$SAME")
BF16_CMD=("$QUANTA" convert --quiet --to safetensors --dtype bf16 --max-shard-size "$SHARD" "$MODEL" "$BF16")

# record NAME — appends the last run's numbers to NAME_WALL, NAME_CPU, NAME_RSS.
record() { eval "$1_WALL+=(\"$WALL\"); $1_CPU+=(\"$CPU\"); $1_RSS+=(\"$RSS_MB\")"; }
CP_WALL=() CP_CPU=() CP_RSS=() RS_WALL=() RS_CPU=() RS_RSS=() SL_WALL=() SL_CPU=() SL_RSS=() BF_WALL=() BF_CPU=() BF_RSS=()
CPC_WALL=() CPC_CPU=() CPC_RSS=() RSC_WALL=() RSC_CPU=() RSC_RSS=()

# --- warm page cache: input read once, then REPEAT alternating runs ------------------------
echo
echo "warm: input in the page cache; neither tool fsyncs, so writes land in the page cache too"
wait_for_quiet
cat "$MODEL"/* >/dev/null
for i in $(seq 1 "$REPEAT"); do
    fresh; timed "cp -r #$i" "${CP_CMD[@]}";                  record CP
    fresh; timed "quanta reshard #$i" "${RESHARD_CMD[@]}";    record RS
    fresh; timed "quanta one file #$i" "${SAME_CMD[@]}";      record SL
    fresh; timed "quanta --dtype bf16 #$i" "${BF16_CMD[@]}";  record BF
done

# The outputs must be right, not only fast: shards under the limit, an index, equal values.
fresh; "${RESHARD_CMD[@]}" >/dev/null
SHARDS=$(ls "$RESHARD" | grep -c '\.safetensors$' || true)
[ -f "$RESHARD/model.safetensors.index.json" ] || { echo "error: no index in $RESHARD" >&2; exit 1; }
BIGGEST=$(find "$RESHARD" -name '*.safetensors' -printf '%s\n' | sort -n | tail -1)
cmp -s "$MODEL/config.json" "$RESHARD/config.json" || { echo "error: config.json changed" >&2; exit 1; }
echo "  reshard output: $SHARDS shards (largest file $((BIGGEST / 1000000)) MB) + index; quanta diff against the input:"
echo "    $("$QUANTA" diff --quiet "$RESHARD" "$MODEL" | tail -1)"
fresh; "${BF16_CMD[@]}" >/dev/null
echo "  bf16 output: quanta diff --rtol 0.004 against the input:"
echo "    $("$QUANTA" diff --quiet --rtol 0.004 "$BF16" "$MODEL" | tail -1)"

# --- cold-ish: the input evicted from this machine's page cache before each run ------------
echo
echo "cold-ish: input evicted (posix_fadvise DONTNEED) before each run; the VM's virtual disk"
echo "may still be cached by its host, which an untimed first read makes equal for both tools"
wait_for_quiet
evict_input; cat "$MODEL"/* >/dev/null
for i in $(seq 1 "$REPEAT_COLD"); do
    fresh; evict_input; timed "cp -r (cold) #$i" "${CP_CMD[@]}";               record CPC
    fresh; evict_input; timed "quanta reshard (cold) #$i" "${RESHARD_CMD[@]}"; record RSC
done
fresh

# --- summary -------------------------------------------------------------------------------
ratio() { awk -v c="$1" -v q="$2" 'BEGIN {printf "%.2f", (q > 0) ? c / q : 0}'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {ok = (dir == "min") ? v >= t : v <= t; print ok ? "met" : "MISSED"}'; }
gbs() { awk -v b="$MODEL_BYTES" -v s="$1" 'BEGIN {printf "%.2f", (s > 0) ? b / s / 1e9 : 0}'; }
row() {  # row LABEL NAME RATIO_TEXT
    local w c r
    eval "w=(\"\${$2_WALL[@]}\"); c=(\"\${$2_CPU[@]}\"); r=(\"\${$2_RSS[@]}\")"
    printf "| %-26s | %9.2f | %8.2f | %6s | %8.2f | %7s | %-24s |\n" "$1" "$(median "${w[@]}")" "$(min "${w[@]}")" \
        "$(gbs "$(median "${w[@]}")")" "$(median "${c[@]}")" "$(max "${r[@]}")" "$3"
}
WARM_RATIO=$(ratio "$(median "${CP_WALL[@]}")" "$(median "${RS_WALL[@]}")")
BEST_RATIO=$(ratio "$(min "${CP_WALL[@]}")" "$(min "${RS_WALL[@]}")")
COLD_RATIO=$(ratio "$(median "${CPC_WALL[@]}")" "$(median "${RSC_WALL[@]}")")
RS_RSS_MAX=$(max "${RS_RSS[@]}" "${RSC_RSS[@]}" "${SL_RSS[@]}") BF_RSS_MAX=$(max "${BF_RSS[@]}")

echo
echo "summary: $(awk -v b="$MODEL_BYTES" 'BEGIN {printf "%.2f GB", b/1e9}') f32 input, --max-shard-size $SHARD; $REPEAT warm and $REPEAT_COLD cold-ish runs each; load now $(cut -d' ' -f1-3 /proc/loadavg)"
printf "| %-26s | %9s | %8s | %6s | %8s | %7s | %-24s |\n" "run" "median s" "best s" "GB/s" "cpu s" "RSS MB" "cp / quanta (median)"
printf "|%s|%s|%s|%s|%s|%s|%s|\n" "----------------------------" "-----------" "----------" "--------" "----------" "---------" "--------------------------"
row "cp -r (warm)" CP ""
row "quanta reshard (warm)" RS "$WARM_RATIO (best $BEST_RATIO)"
row "quanta one file (warm)" SL "$(ratio "$(median "${CP_WALL[@]}")" "$(median "${SL_WALL[@]}")") (same layout as cp)"
row "cp -r (cold-ish)" CPC ""
row "quanta reshard (cold-ish)" RSC "$COLD_RATIO"
row "quanta --dtype bf16 (warm)" BF "reads f32, writes bf16"
echo
echo "targets: speed ratio cp/quanta (warm, median) $WARM_RATIO: $(verdict "$WARM_RATIO" $RATIO_TARGET min) (≥ $RATIO_TARGET);" \
     "quanta peak RSS: reshard $RS_RSS_MAX MB $(verdict "$RS_RSS_MAX" $RSS_TARGET_MB max), bf16 $BF_RSS_MAX MB $(verdict "$BF_RSS_MAX" $RSS_TARGET_MB max) (≤ $RSS_TARGET_MB MB)"
