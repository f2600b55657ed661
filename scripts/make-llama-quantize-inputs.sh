#!/usr/bin/env bash
# GGUFs made by llama.cpp's own llama-quantize, as the users' files are, for the reader's tests
# (src/io/llama-quantize-inputs.test.ts): the demo model (stories260K, widths 64 and 172, so the
# K-quant types fall back) in Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_M, Q5_K_M and Q6_K, and
# src/test/wide-model.ts's model (widths whole 256-value blocks) in Q4_K_M and Q5_K_M (Q4_K, Q5_K and
# Q6_K tensors), each quantized from this project's f32 export; and, beside them, the SHA-256 of every
# tensor's values as gguf-py's reference dequantizer gives them (fixtures/quant/llama-quantize/values.json).
# Needs llama-quantize (scripts/make-quantize-export-fixtures.sh builds it) and gguf-py (in the same
# llama.cpp source) with numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA_SRC=${LLAMA_SRC:-/tmp/llama-src}
LLAMA_BUILD=${LLAMA_BUILD:-/tmp/llama-build}
[ -x "$LLAMA_BUILD/bin/llama-quantize" ] || bash scripts/make-quantize-export-fixtures.sh
out=fixtures/quant/llama-quantize
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bin/longlora.mjs export-gguf --model public/demo --out "$tmp/demo.gguf" --dtype f32 >/dev/null
npx tsx scripts/write-wide-model.ts "$tmp/wide"
node bin/longlora.mjs export-gguf --model "$tmp/wide" --out "$tmp/wide.gguf" --dtype f32 >/dev/null
for t in Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K_M Q5_K_M Q6_K; do
  "$LLAMA_BUILD/bin/llama-quantize" "$tmp/demo.gguf" "$out/stories260K-$t.gguf" "$t" >/dev/null 2>&1
done
for t in Q4_K_M Q5_K_M; do
  "$LLAMA_BUILD/bin/llama-quantize" "$tmp/wide.gguf" "$out/wide-$t.gguf" "$t" >/dev/null 2>&1
done
PYTHONPATH="$LLAMA_SRC/gguf-py" python3 - "$out" <<'PY'
import hashlib, json, os, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
out = sys.argv[1]
values = {}
for f in sorted(os.listdir(out)):
    if not f.endswith('.gguf'):
        continue
    r = GGUFReader(os.path.join(out, f))
    values[f] = {
        t.name: [t.tensor_type.name, hashlib.sha256(
            np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype='<f4').tobytes()).hexdigest()]
        for t in r.tensors
    }
with open(os.path.join(out, 'values.json'), 'w') as fh:
    json.dump(values, fh, indent=1, sort_keys=True)
    fh.write('\n')
PY
echo "wrote $(ls "$out" | wc -l) files to $out"
