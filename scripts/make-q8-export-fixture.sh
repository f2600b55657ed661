#!/usr/bin/env bash
# Makes fixtures/quant/stories260K-llama-quantize-q8_0.gguf: the demo model exported by this project
# as an f32 GGUF (`longlora export-gguf --dtype f32`), then quantized by llama.cpp's own
# `llama-quantize … Q8_0`. src/io/gguf-export-q8.test.ts checks that `export-gguf --dtype q8_0`
# writes exactly these bytes. llama.cpp's source ships inside node-llama-cpp (a git bundle); the tool
# builds offline with cmake (CPU only, ~15 minutes on 2 cores). LLAMA_SRC / LLAMA_BUILD may point at
# an existing clone / build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA_SRC=${LLAMA_SRC:-/tmp/llama-src}
LLAMA_BUILD=${LLAMA_BUILD:-/tmp/llama-build}
if [ ! -d "$LLAMA_SRC" ]; then
  git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$LLAMA_SRC"
fi
if [ ! -x "$LLAMA_BUILD/bin/llama-quantize" ]; then
  cmake -S "$LLAMA_SRC" -B "$LLAMA_BUILD" -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF
  cmake --build "$LLAMA_BUILD" --target llama-quantize -j "$(nproc)"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bin/longlora.mjs export-gguf --model public/demo --out "$tmp/f32.gguf" --dtype f32
"$LLAMA_BUILD/bin/llama-quantize" "$tmp/f32.gguf" "$tmp/q8_0.gguf" Q8_0 >"$tmp/log" 2>&1 ||
  { cat "$tmp/log"; exit 1; }
mkdir -p fixtures/quant
cp "$tmp/q8_0.gguf" fixtures/quant/stories260K-llama-quantize-q8_0.gguf
echo "wrote fixtures/quant/stories260K-llama-quantize-q8_0.gguf ($(stat -c %s "$tmp/q8_0.gguf") bytes)"
