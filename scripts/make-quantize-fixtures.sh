#!/usr/bin/env bash
# Writes fixtures/quant/quantize-input.f32 and fixtures/quant/quantize-<type>.blocks: seeded f32 rows and
# the blocks llama.cpp's reference quantizers (ggml-quants.c's quantize_row_*_ref) make from them, which
# src/io/quantize.test.ts requires src/io/quantize.ts to reproduce byte for byte. The tests read the
# committed files and never need a C compiler or llama.cpp.
#
# Compiles scripts/quantize-harness.c against llama.cpp's own ggml-quants.c with the system C compiler
# at -O0 and -ffp-contract=off (no fused multiply-adds: each float operation rounds as the C states).
# llama.cpp's source is the git bundle that ships in node-llama-cpp; LLAMA_SRC overrides where it is.
#
# Run from the repository root:  bash scripts/make-quantize-fixtures.sh
set -euo pipefail

LLAMA_SRC="${LLAMA_SRC:-/tmp/llama-src}"
if [ ! -f "$LLAMA_SRC/ggml/src/ggml-quants.c" ]; then
  git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$LLAMA_SRC"
fi
CC="${CC:-cc}"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT

"$CC" -std=gnu11 -O0 -ffp-contract=off -w \
  -I"$LLAMA_SRC/ggml/include" -I"$LLAMA_SRC/ggml/src" -I"$LLAMA_SRC/ggml/src/ggml-cpu" \
  scripts/quantize-harness.c "$LLAMA_SRC/ggml/src/ggml-quants.c" -lm -o "$build/quantize-harness"

mkdir -p fixtures/quant
"$build/quantize-harness" fixtures/quant
echo "llama.cpp: $(git -C "$LLAMA_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
