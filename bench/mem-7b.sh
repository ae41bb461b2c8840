#!/usr/bin/env bash
# bench/mem-7b: quanta's memory on a 7B-class checkpoint. The synthetic model is
# make_synthetic_model.py's 7b preset (hidden 4096, ffn 11008, 32 layers, 32/8 heads, vocab 49152,
# untied, 6.07 G params) in bf16, 5 GB shards + index, SmolLM2's tokenizer: 12.1 GB, made once in
# bench/out/synthetic-7b/model/ (about 15 GB free disk needed). Then, each under
# bench/peak_memory.py:
#   quanta eval DIR --text data/wikitext-2-raw-test.txt --ctx 512 --chunks 2 --json --quiet
#   quanta quantize --method gptq --bits 4 --group-size 128 --calib-samples 16 DIR OUT --quiet
#     (calibration text: quanta's default, data/wikitext-2-calibration.txt)
# and prints wall time, peak VmRSS and peak RssAnon of each, with pass/fail against
# eval VmRSS ≤ 15 GB and quantize RssAnon ≤ 4 GB (GB = 2^30 bytes, as peak_memory.py's MB).
# Usage: bench/mem-7b.sh QUANTA_BIN
# Environment: KEEP_OUTPUT=1 keeps the GPTQ output (removed otherwise, ~3.5 GB);
# ONLY=eval or ONLY=quantize runs one of the two. Exit status 0 when both checks pass.
set -euo pipefail
source "$(dirname "$0")/lib-eval.sh"
le_init_quanta "${1:?usage: bench/mem-7b.sh QUANTA_BIN}"

out=$LE_ROOT/bench/out/synthetic-7b; mkdir -p "$out"
model=$out/model gptq=$out/gptq-4bit-g128
eval_limit_mb=$((15 * 1024)) anon_limit_mb=$((4 * 1024))

tok=$LE_ROOT/bench/out/smollm2-hf-f32
le_smollm2_tokenizer "$tok"
le_synthetic "$model" --preset 7b --dtype bf16 --max-shard-size 5GB --tokenizer-from "$tok"

# run NAME CMD… — CMD under peak_memory.py (its stdout to $out/NAME.out, stderr to $out/NAME.err);
# sets WALL, RSS, ANON, CODE.
run() {
    local name=$1; shift
    echo "running $name: $*" >&2
    CODE=0
    "$LE_PYTHON" "$LE_HERE/peak_memory.py" --json "$out/$name.mem.json" -- "$@" \
        > "$out/$name.out" 2> "$out/$name.err" || CODE=$?
    read -r WALL RSS ANON < <("$LE_PYTHON" -c "import json, sys; m = json.load(open(sys.argv[1]))
print(m['wall_seconds'], m['peak_vmrss_mb'], m['peak_rssanon_mb'])" "$out/$name.mem.json" 2>/dev/null || echo "? ? ?")
    [ "$CODE" = 0 ] || echo "error: $name exited $CODE: $(tail -c 400 "$out/$name.err" | tr '\n' ' ')" >&2
}
# check VALUE LIMIT — PASS/FAIL text.
check() { "$LE_PYTHON" -c "import sys; v, l = float(sys.argv[1]), float(sys.argv[2]); print(('PASS' if v <= l else 'FAIL') + f' ({v:.0f} MB vs ≤ {l:.0f} MB)')" "$1" "$2" 2>/dev/null || echo "FAIL (no measurement)"; }

status=0
lines=()
if [ "${ONLY:-eval}" = eval ] || [ -z "${ONLY:-}" ]; then
    run eval "$LE_QUANTA" eval "$model" --text "$LE_TEXT" --ctx 512 --chunks 2 --json --quiet
    ppl=$("$LE_PYTHON" -c "import json, sys; d = json.load(open(sys.argv[1])); print(d['ppl'], d['tokens_per_second'])" "$out/eval.out" 2>/dev/null || echo "? ?")
    verdict=$(check "$RSS" $eval_limit_mb); [ "$CODE" = 0 ] || verdict="FAIL (exit $CODE)"
    [[ $verdict == PASS* ]] || status=1
    lines+=("$(printf '%-22s %9s s %11s MB %12s MB   eval VmRSS ≤ 15 GB: %s   (PPL, tok/s: %s)' \
        "quanta eval" "$WALL" "$RSS" "$ANON" "$verdict" "$ppl")")
fi
if [ "${ONLY:-quantize}" = quantize ] || [ -z "${ONLY:-}" ]; then
    rm -rf "$gptq"
    run quantize "$LE_QUANTA" quantize --method gptq --bits 4 --group-size 128 --calib-samples 16 \
        "$model" "$gptq" --quiet
    verdict=$(check "$ANON" $anon_limit_mb); [ "$CODE" = 0 ] || verdict="FAIL (exit $CODE)"
    [[ $verdict == PASS* ]] || status=1
    lines+=("$(printf '%-22s %9s s %11s MB %12s MB   quantize RssAnon ≤ 4 GB: %s' \
        "quanta quantize gptq" "$WALL" "$RSS" "$ANON" "$verdict")")
    [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf "$gptq"
fi

echo
printf '%-22s %11s %14s %15s\n' run wall "peak VmRSS" "peak RssAnon"
printf '%s\n' "${lines[@]}"
exit $status
