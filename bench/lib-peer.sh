# bench/lib-peer.sh — shared by bench/gptq.sh and bench/awq-peer.sh (source it, don't run it): the
# GPTQModel 7.7.0 CPU venv, SmolLM2 as an f32 HF directory, waiting for a quiet machine, and reading
# wall time / peak RSS from `/usr/bin/time -v` logs and PPL from `quanta eval --json`.
# Expects: QUANTA, MODEL, OUT, TEXT, PYTHON, BENCH_MAX_LOAD, BENCH_LOAD_WAIT.

# GPTQModel 7.7.0 (CPU build) in venv $1, made once; pulls torch (~3 GB).
lp_gptqmodel_venv() {
    local venv=$1
    if ! "$venv/bin/python" -c 'import gptqmodel; assert gptqmodel.__version__ == "7.7.0"' >/dev/null 2>&1; then
        echo "installing gptqmodel 7.7.0 into $venv (once; CPU build) …"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/pip" install -q -U pip setuptools wheel
        BUILD_CUDA_EXT=0 "$venv/bin/pip" install -q --no-build-isolation gptqmodel==7.7.0
    fi
}

# SmolLM2 (the GGUF at $MODEL) as an f32 HF directory at $OUT/smollm2-f32, made once; prints its path.
lp_hf_input() {
    local hf=$OUT/smollm2-f32
    if [ ! -f "$hf/.complete" ]; then
        rm -rf "$hf"
        "$QUANTA" convert --quiet --from gguf --to safetensors --dtype f32 "$MODEL" "$hf" >&2
        touch "$hf/.complete"
    fi
    echo "$hf"
}

wait_quiet() {
    local waited=0
    while awk -v max="$BENCH_MAX_LOAD" '{exit !($1 >= max)}' /proc/loadavg && [ "$waited" -lt "$BENCH_LOAD_WAIT" ]; do
        sleep 10; waited=$((waited + 10))
    done
    echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}
# wall seconds and peak RSS (MB) of a /usr/bin/time -v log
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
ppl() { "$QUANTA" eval --quiet "$1" --text "$TEXT" --ctx 512 --chunks 40 --json | "$PYTHON" -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["ppl"])'; }
