#!/usr/bin/env bash
# The demo: take the real model through Quanta's pipeline and print a table of what happened.
set -euo pipefail
quanta=$1; model=$2; out=$3
rm -rf "$out"; mkdir -p "$out"
echo "== inspect $model"
"$quanta" inspect "$model" --quiet
