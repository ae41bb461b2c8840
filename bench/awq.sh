#!/usr/bin/env bash
# bench/awq.sh QUANTA_BIN [MODEL] [OUT_DIR]
#
# Wall time and peak resident memory (/usr/bin/time -v) of quantizing a whole model with AWQ and, beside
# it, with GPTQ at the same settings (4-bit, group size 64, asymmetric, default calibration: 128 windows
# of 512 tokens of data/wikitext-2-calibration.txt, seed 0). Prints one table and the AWQ/GPTQ ratios.
# The machine's load average is printed too: on a shared machine both figures scale with it.
# BENCH_REUSE=1 keeps a method's earlier measurement (OUT_DIR/<method>.time) instead of running it again.
set -euo pipefail
quanta=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
model=$(realpath "${2:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}")
out=${3:-$root/bench/out/awq}
mkdir -p "$out"
cd "$root"

run() { # name, then the quantize flags
  local name=$1; shift
  if [ "${BENCH_REUSE:-0}" = 1 ] && [ -s "$out/$name.time" ]; then echo "== $name: reusing $out/$name.time" >&2; return; fi
  echo "== $name: quanta quantize $* (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  /usr/bin/time -v "$quanta" quantize "$@" --force --quiet "$model" "$out/$name" > "$out/$name.log" 2> "$out/$name.time"
}
wall() { # h:mm:ss or m:ss.xx → seconds
  grep "Elapsed (wall clock)" "$1" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}
cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

run awq --method awq --bits 4 --group-size 64
help=$("$quanta" quantize --help 2>&1 || true)   # (no pipe into grep -q: SIGPIPE + pipefail)
if [[ "$help" == *"--act-order"* ]]; then
  run gptq --method gptq --bits 4 --group-size 64 --asym
  have_gptq=1
else
  echo "note: this build has no --method gptq; only AWQ is measured" >&2
  have_gptq=0
fi

printf "\n| method | wall (s) | CPU (s) | peak RSS (MiB) |\n|---|---|---|---|\n"
for name in awq gptq; do
  [ "$name" = gptq ] && [ "$have_gptq" = 0 ] && continue
  printf "| %s | %.1f | %.1f | %s |\n" "$name" "$(wall "$out/$name.time")" "$(cpu "$out/$name.time")" "$(rss "$out/$name.time")"
done
if [ "$have_gptq" = 1 ]; then
  python3 -c "print('AWQ/GPTQ: wall %.2f×, CPU %.2f×, peak RSS %.2f×' % ($(wall "$out/awq.time") / $(wall "$out/gptq.time"), $(cpu "$out/awq.time") / $(cpu "$out/gptq.time"), $(rss "$out/awq.time") / $(rss "$out/gptq.time")))"
fi
echo "AWQ phases: $(grep '^time:' "$out/awq.log" || true)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
