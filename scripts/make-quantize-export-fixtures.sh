#!/usr/bin/env bash
# What llama.cpp's own `llama-quantize` writes from this project's f32 GGUF export, for
# src/io/gguf-export-q8.test.ts (which checks `export-gguf --dtype q8_0|q4_k_m` writes the same bytes):
# - fixtures/quant/stories260K-llama-quantize-q8_0.gguf: the demo model, Q8_0, the whole file;
# - fixtures/quant/llama-quantize-sha256.json: SHA-256 of the demo in Q4_K_M and Q6_K, and of
#   src/test/wide-model.ts's model (every width whole 256-value blocks, so Q4_K and Q6_K apply without
#   fallbacks) in Q8_0, Q4_K_M and Q6_K.
# llama.cpp's source ships inside node-llama-cpp (a git bundle); the tool builds offline with cmake
# (CPU only, ~15 minutes on 2 cores). LLAMA_SRC / LLAMA_BUILD may point at an existing clone / build.
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
quant() { "$LLAMA_BUILD/bin/llama-quantize" "$1" "$2" "$3" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }; }
node bin/longlora.mjs export-gguf --model public/demo --out "$tmp/demo-f32.gguf" --dtype f32
npx tsx scripts/write-wide-model.ts "$tmp/wide"
node bin/longlora.mjs export-gguf --model "$tmp/wide" --out "$tmp/wide-f32.gguf" --dtype f32
quant "$tmp/demo-f32.gguf" "$tmp/demo-q8_0.gguf" Q8_0
quant "$tmp/demo-f32.gguf" "$tmp/demo-q4_k_m.gguf" Q4_K_M
quant "$tmp/demo-f32.gguf" "$tmp/demo-q6_k.gguf" Q6_K
quant "$tmp/wide-f32.gguf" "$tmp/wide-q8_0.gguf" Q8_0
quant "$tmp/wide-f32.gguf" "$tmp/wide-q4_k_m.gguf" Q4_K_M
quant "$tmp/wide-f32.gguf" "$tmp/wide-q6_k.gguf" Q6_K
mkdir -p fixtures/quant
cp "$tmp/demo-q8_0.gguf" fixtures/quant/stories260K-llama-quantize-q8_0.gguf
sha() { sha256sum "$1" | cut -d' ' -f1; }
cat >fixtures/quant/llama-quantize-sha256.json <<JSON
{
  "about": "SHA-256 of what llama.cpp's llama-quantize (commit of node-llama-cpp 3.21.1's bundled source) writes from this project's f32 export; made by scripts/make-quantize-export-fixtures.sh",
  "stories260K Q4_K_M": "$(sha "$tmp/demo-q4_k_m.gguf")",
  "stories260K Q6_K": "$(sha "$tmp/demo-q6_k.gguf")",
  "wide Q8_0": "$(sha "$tmp/wide-q8_0.gguf")",
  "wide Q4_K_M": "$(sha "$tmp/wide-q4_k_m.gguf")",
  "wide Q6_K": "$(sha "$tmp/wide-q6_k.gguf")"
}
JSON
echo "wrote fixtures/quant/stories260K-llama-quantize-q8_0.gguf and fixtures/quant/llama-quantize-sha256.json"
