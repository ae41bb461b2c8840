#!/usr/bin/env bash
# Build llama.cpp's reference tools (llama-perplexity, llama-quantize, llama-tokenize, llama-imatrix)
# from the llama.cpp sources vendored inside the llama-cpp-python 0.3.36 sdist on PyPI
# (the only source of llama.cpp reachable from this machine: PyPI only, no GitHub).
#
# Usage: scripts/build-llama-cpp.sh <venv-python> [output-dir (default: vendor/)]
# Idempotent: every step is skipped when its result already exists; re-running only rebuilds what
# ninja finds out of date.
set -euo pipefail

PYTHON="${1:?usage: $0 <venv python, e.g. /work/venv-ref/bin/python> [output dir, default vendor/]}"
OUT="${2:-vendor}"
VERSION="0.3.36"
TARGETS=(llama-perplexity llama-quantize llama-tokenize llama-imatrix)

if [[ ! -x "$PYTHON" ]]; then
    echo "error: '$PYTHON' is not an executable python; pass the venv's bin/python" >&2
    exit 2
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VENV_BIN="$(dirname "$PYTHON")"

# cmake and ninja come from PyPI wheels so that no system package is needed.
if [[ ! -x "$VENV_BIN/cmake" || ! -x "$VENV_BIN/ninja" ]]; then
    "$PYTHON" -m pip install --quiet cmake ninja scikit-build-core
fi
export PATH="$VENV_BIN:$PATH"

SRC="$OUT/llama-cpp-python-$VERSION"
if [[ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]]; then
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
        "llama-cpp-python==$VERSION" -d "$TMP"
    tar -xzf "$TMP/llama_cpp_python-$VERSION.tar.gz" -C "$TMP" 2>/dev/null \
        || tar -xzf "$TMP"/llama*cpp*python*"$VERSION".tar.gz -C "$TMP"
    rm -rf "$SRC"
    mv "$TMP"/llama*cpp*python-"$VERSION" "$SRC"
fi

BUILD="$OUT/llama.cpp-build"
if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake -S "$SRC/vendor/llama.cpp" -B "$BUILD" -G Ninja \
        -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF
fi
cmake --build "$BUILD" --target "${TARGETS[@]}" -j2

echo "llama.cpp tools built in: $BUILD/bin"
for t in "${TARGETS[@]}"; do
    ls -l "$BUILD/bin/$t"
done
