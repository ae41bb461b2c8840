#!/usr/bin/env bash
# Fuzzes the PyTorch checkpoint reader (zip layer + restricted unpickler + tensor views) with
# libFuzzer and AddressSanitizer: `swiftc -sanitize=fuzzer,address` builds QuantaCore and
# QuantaFormats as instrumented modules and links fuzz/torch/FuzzTorch.swift against them.
# Seeds: the torch.save goldens and the malicious corpus (as whole files) and their data.pkl
# records (as bare pickles, and as pickles the harness packs into a checkpoint with storages).
# Runs FUZZ_RUNS executions (default 1,000,000) and fails on any crash, sanitizer report or
# timeout. Not part of `make test`.
#
#   bash bench/fuzz-torch.sh [ignored-binary-path]     # `make bench` passes the release binary
#   FUZZ_RUNS=5000000 bash bench/fuzz-torch.sh       # longer run; FUZZ_MAX_LEN caps input size
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${FUZZ_BUILD:-$ROOT/.build-fuzz-torch}
RUNS=${FUZZ_RUNS:-1000000}
MAX_LEN=${FUZZ_MAX_LEN:-16384}
SWIFTC=${SWIFTC:-swiftc}
CLANG=${CLANG:-clang}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT/include" "$OUT/seeds" "$OUT/corpus"

# CQuantaSys: a module map for the C shim QuantaCore imports.
cp Sources/CQuantaSys/include/cquantasys.h "$OUT/include/"
printf 'module CQuantaSys {\n    header "cquantasys.h"\n    export *\n}\n' > "$OUT/include/module.modulemap"
FLAGS=(-O -wmo -parse-as-library -sanitize=fuzzer,address -enable-testing -I "$OUT" -I "$OUT/include")

echo "== building the fuzz harness in $OUT"
# (gold warns about every ASan check symbol it cannot export; those lines are dropped)
quiet() { "$@" 2> >(grep -v "Cannot export local symbol" >&2); }
"$CLANG" -O2 -fsanitize=address -c Sources/CQuantaSys/cquantasys.c -I Sources/CQuantaSys/include -o "$OUT/cquantasys.o"
"$SWIFTC" "${FLAGS[@]}" -module-name QuantaCore -emit-module -emit-module-path "$OUT/QuantaCore.swiftmodule" \
    -c Sources/QuantaCore/*.swift -o "$OUT/QuantaCore.o"
"$SWIFTC" "${FLAGS[@]}" -module-name QuantaFormats -emit-module -emit-module-path "$OUT/QuantaFormats.swiftmodule" \
    -c $(find Sources/QuantaFormats -name '*.swift' | sort) -o "$OUT/QuantaFormats.o"
quiet "$SWIFTC" "${FLAGS[@]}" -module-name FuzzTorch fuzz/torch/FuzzTorch.swift \
    "$OUT/QuantaCore.o" "$OUT/QuantaFormats.o" "$OUT/cquantasys.o" -o "$OUT/fuzz-torch"

echo "== seeds"
"$PYTHON" - "$OUT/seeds" "$MAX_LEN" <<'PY'
import pathlib, sys, zipfile
out, max_len = pathlib.Path(sys.argv[1]), int(sys.argv[2])
count = 0
for path in sorted(pathlib.Path("fixtures/torch").rglob("*")) + sorted(pathlib.Path("fixtures/malicious").glob("*.pt")):
    if path.suffix not in (".pt", ".bin"):
        continue
    data = path.read_bytes()
    if len(data) < max_len:
        (out / f"file-{path.parent.name}-{path.name}").write_bytes(b"\x00" + data)
        count += 1
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith("/data.pkl"):
                    pickle = z.read(name)
                    if len(pickle) < max_len:
                        (out / f"pickle-{path.parent.name}-{path.stem}").write_bytes(b"\x01" + pickle)
                        (out / f"packed-{path.parent.name}-{path.stem}").write_bytes(b"\x02" + pickle)
                        count += 2
    except Exception:
        pass
print(f"{count} seeds")
PY

COMMAND=("$OUT/fuzz-torch" -runs="$RUNS" -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=4096
         -print_final_stats=1 -artifact_prefix="$OUT/crash-" "$OUT/corpus" "$OUT/seeds")
echo "== running: ${COMMAND[*]}"
START=$(date +%s)
LOG="$OUT/fuzz.log"
set +e
ASAN_OPTIONS=detect_leaks=0 "${COMMAND[@]}" 2>"$LOG"
STATUS=$?
set -e
END=$(date +%s)
EXECUTED=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$LOG" | awk '{print $2}' | tail -1)
tail -n 5 "$LOG"
rm -f /dev/shm/quanta-fuzz-torch-*.pt
if [ "$STATUS" -ne 0 ]; then
    echo "fuzz-torch: FAILED (exit $STATUS) after ${EXECUTED:-?} executions; see $LOG and $OUT/crash-*"
    exit 1
fi
echo "fuzz-torch: ${EXECUTED:-?} executions in $((END - START)) s without a crash"
echo "command: ${COMMAND[*]}"
