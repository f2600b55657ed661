"""Writes the committed quantized-GGUF fixtures under fixtures/quant/ with llama.cpp's gguf-py (its numpy
reference quantize/dequantize), so the tests never need llama.cpp or Python:

- <type>.blocks / <type>.f32 for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K: raw ggml blocks and
  the f32 values (little-endian) gguf-py's dequantize gives for them. Seeded random bytes with a
  finite f16 scale (d, and m/dmin where the type has one; a few blocks with a zero, negative-zero,
  subnormal or largest scale), then, for the types gguf-py can quantize (the legacy five), blocks it
  quantized from seeded normal values. src/io/quant.test.ts requires the TypeScript dequantizers to
  give the same f32 bits.
- stories260K-legacy.blocks / .json: the demo model's weights (public/demo/stories260K.gguf)
  quantized by gguf-py to a mix of the legacy types (rows of 172 stay F32: not whole 32-value blocks),
  and a manifest of each tensor's type and byte range. src/test/quant-fixtures.ts assembles the
  quantized GGUF from them with the project's own GGUF writer (the F32 tensors from the demo file).

Run from the repository root:
  git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama-src   # once
  PYTHONPATH=/tmp/llama-src/gguf-py python3 scripts/make-quant-fixtures.py
(GGUF_PY=/path/to/gguf-py works too.) Needs numpy. The output is deterministic for a gguf-py version.
"""
import json
import os
import sys

for p in [os.environ.get('GGUF_PY'), '/tmp/llama-src/gguf-py']:
    if p and os.path.isdir(p) and p not in sys.path:
        sys.path.append(p)
try:
    import numpy as np
    from gguf import GGUFReader, GGMLQuantizationType as Q
    from gguf import quants
    from gguf.constants import GGML_QUANT_SIZES
except ImportError as e:
    sys.exit(f'{e}: set PYTHONPATH (or GGUF_PY) to llama.cpp\'s gguf-py (see this script\'s docstring)')

OUT = 'fixtures/quant'
LEGACY = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']
K = ['Q4_K', 'Q5_K', 'Q6_K']
# Byte offsets of each type's f16 scales in its block.
SCALES = {'Q8_0': [0], 'Q4_0': [0], 'Q5_0': [0], 'Q4_1': [0, 2], 'Q5_1': [0, 2],
          'Q4_K': [0, 2], 'Q5_K': [0, 2], 'Q6_K': [208]}
# f16 bit patterns: zero, negative zero, smallest and largest subnormal, largest finite, -1, tiny normal.
EDGE = [0x0000, 0x8000, 0x0001, 0x03ff, 0x7bff, 0xbc00, 0x0400]


def random_blocks(rng, name, n):
    _, size = GGML_QUANT_SIZES[Q[name]]
    b = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    for i in range(n):
        for s in SCALES[name]:
            h = int(rng.integers(0, 0x10000))
            if (h & 0x7c00) == 0x7c00:
                h &= 0xbfff  # finite: clear the exponent's top bit
            if i < len(EDGE) and s == SCALES[name][0]:
                h = EDGE[i]
            b[i, s] = h & 0xff
            b[i, s + 1] = h >> 8
    return b


def write(path, data):
    with open(path, 'wb') as f:
        f.write(np.ascontiguousarray(data).tobytes())


def blocks_fixtures():
    for k, name in enumerate(LEGACY + K):
        rng = np.random.default_rng(2600 + k)
        qt = Q[name]
        block, size = GGML_QUANT_SIZES[qt]
        parts = [random_blocks(rng, name, 16 if name in LEGACY else 8)]
        if name in LEGACY:
            x = (rng.standard_normal((4, 4 * block)) * rng.choice([1e-3, 0.05, 1.0, 40.0], (4, 1)))
            x[3, :block] = 0  # an all-zero block
            parts.append(quants.quantize(x.astype(np.float32), qt).reshape(-1, size))
        blocks = np.concatenate(parts)
        values = quants.dequantize(blocks, qt).astype(np.float32)
        assert np.isfinite(values).all(), name
        write(f'{OUT}/{name.lower()}.blocks', blocks)
        write(f'{OUT}/{name.lower()}.f32', values.astype('<f4'))
        print(f'{name}: {blocks.shape[0]} blocks, {blocks.nbytes} B -> {values.size} values')


# Which legacy type each tensor of the demo model becomes (every legacy type appears).
DEMO_TYPES = {'token_embd': 'Q8_0', 'output': 'Q5_0', 'attn_q': 'Q4_0', 'attn_k': 'Q4_1',
              'attn_v': 'Q5_0', 'attn_output': 'Q5_1', 'ffn_gate': 'Q8_0', 'ffn_up': 'Q4_1'}


def demo_fixture():
    r = GGUFReader('public/demo/stories260K.gguf')
    manifest, chunks, offset = [], [], 0
    for t in r.tensors:
        part = t.name.split('.')[-2]
        name = DEMO_TYPES.get(part)
        row = int(t.shape[0])
        if name is None or row % GGML_QUANT_SIZES[Q[name]][0] != 0:
            continue
        assert t.tensor_type == Q.F32, t.name
        data = np.asarray(t.data, dtype=np.float32).reshape(-1, row)
        q = quants.quantize(data, Q[name]).reshape(-1)
        manifest.append({'name': t.name, 'type': name, 'offset': offset, 'bytes': int(q.size)})
        chunks.append(q)
        offset += int(q.size)
    write(f'{OUT}/stories260K-legacy.blocks', np.concatenate(chunks))
    with open(f'{OUT}/stories260K-legacy.json', 'w') as f:
        json.dump({'source': 'public/demo/stories260K.gguf', 'tensors': manifest}, f, indent=2)
        f.write('\n')
    print(f'stories260K-legacy: {len(manifest)} tensors, {offset} B')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    blocks_fixtures()
    demo_fixture()
