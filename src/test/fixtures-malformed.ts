/** Malformed-file fixtures: each breaks one rule the readers must report with a specific error. */
import { parseHfConfig } from '../io/config.ts';
import {
  q2kBytes,
  tinyConfigJson,
  tinyGguf,
  tinyHfFolder,
  CONFIG_ONLY_MODELS,
  TINY_GGUFS,
  TINY_MODELS,
  randomWeights,
} from './fixtures.ts';
import { writeSafetensors } from '../io/safetensors.ts';

/** A safetensors file from a literal header object and data bytes (optionally lying about the header length). */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array,
  claimedLength?: bigint,
  headerText?: string,
): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const t = (shape: number[], b: number, e: number, dtype = 'F32') => ({
  dtype,
  shape,
  data_offsets: [b, e],
});

/** Every malformed file, by fixture path. */
export function malformedFixtures(): Record<string, Uint8Array> {
  const data = new Uint8Array(32); // room for two [2, 2] F32 tensors
  const ok = { a: t([2, 2], 0, 16), b: t([2, 2], 16, 32) };
  const files: Record<string, Uint8Array> = {
    'truncated.safetensors': new Uint8Array([16, 0, 0, 0, 0]),
    'header-past-end.safetensors': rawSafetensors(ok, data, 4096n),
    'header-too-large.safetensors': rawSafetensors(ok, data, 200_000_000n),
    'invalid-json.safetensors': rawSafetensors(null, data, undefined, '{"a": {"dtype": "F32", '),
    'offsets-out-of-range.safetensors': rawSafetensors(
      { a: t([2, 2], 0, 16), b: t([2, 2], 24, 40) },
      data,
    ),
    'offsets-overlap.safetensors': rawSafetensors(
      { a: t([2, 2], 0, 16), b: t([2, 2], 8, 24), c: t([2], 24, 32) },
      data,
    ),
    'offsets-gap.safetensors': rawSafetensors({ a: t([2, 2], 0, 16), b: t([2], 24, 32) }, data),
    'size-mismatch.safetensors': rawSafetensors(
      { a: t([2, 2], 0, 16), b: t([3, 2], 16, 32) },
      data,
    ),
    'unknown-dtype.safetensors': rawSafetensors(
      { a: t([2, 2], 0, 16), b: t([2, 2], 16, 32, 'Q7') },
      data,
    ),
  };
  // config/weights disagreement: k_proj of layer 1 has the MHA shape in a GQA config, and one norm is missing.
  const spec = TINY_MODELS['tiny-f32-gqa']!;
  const cfg = tinyConfigJson(spec);
  const w = randomWeights(parseHfConfig(cfg), spec.seed);
  const tensors = [...w]
    .filter(([name]) => name !== 'model.layers.0.post_attention_layernorm.weight')
    .map(([name, v]) => {
      const wrong = name === 'model.layers.1.self_attn.k_proj.weight';
      return {
        name,
        dtype: 'F32' as const,
        shape: wrong ? [16, 16] : v.shape,
        data: wrong ? new Float32Array(256) : v.data,
      };
    });
  files['config-mismatch/config.json'] = new TextEncoder().encode(JSON.stringify(cfg));
  files['config-mismatch/model.safetensors'] = writeSafetensors(tensors);

  const gguf = tinyGguf(spec);
  const bad = gguf.slice();
  bad.set(new TextEncoder().encode('GGUX'), 0);
  files['bad-magic.gguf'] = bad;
  files['truncated.gguf'] = gguf.slice(0, 200);
  files['q2_k.gguf'] = tinyGguf(spec, {
    name: 'blk.0.attn_q.weight',
    type: 10,
    data: q2kBytes(16 * 16),
  });

  // A sharded checkpoint whose second shard is absent.
  const sharded = tinyHfFolder(TINY_MODELS['tiny-bf16-gqa-tied']!, 3);
  for (const [name, bytes] of Object.entries(sharded)) {
    if (!name.startsWith('model-00002')) files[`sharded-missing/${name}`] = bytes;
  }
  return files;
}

/** Every fixture file, by path under fixtures/generated/. */
export function allFixtures(): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const [dir, spec] of Object.entries(TINY_MODELS)) {
    for (const [name, bytes] of Object.entries(tinyHfFolder(spec))) files[`${dir}/${name}`] = bytes;
  }
  for (const [name, bytes] of Object.entries(tinyHfFolder(TINY_MODELS['tiny-bf16-gqa-tied']!, 3))) {
    files[`tiny-bf16-sharded/${name}`] = bytes;
  }
  for (const [name, variant] of Object.entries(TINY_GGUFS))
    files[name] = tinyGguf(TINY_MODELS[variant]!);
  for (const [dir, config] of Object.entries(CONFIG_ONLY_MODELS))
    files[`${dir}/config.json`] = new TextEncoder().encode(JSON.stringify(config(), null, 2));
  for (const [name, bytes] of Object.entries(malformedFixtures()))
    files[`malformed/${name}`] = bytes;
  return files;
}
