/**
 * Every refusal a user's file, setting or export choice can cause reaches the page as its own kind
 * (and so its own title and hint in src/store/errors.ts), never as "unknown" or as a kind whose hint
 * tells them to do something else; and production code throws no plain Error.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Runtime } from '../engine/runtime.ts';
import { autotune } from '../engine/kernels/autotune.ts';
import { ATTENTION_MAX_HEAD_DIM } from '../engine/kernels/attention.ts';
import { MAX_HEAD_DIM, parseHfConfig } from '../io/config.ts';
import { ggufTensorDtype } from '../io/gguf.ts';
import {
  checkAdapterShapes,
  ggufRope,
  loraAdapterGguf,
  tokenizerKvsFromHf,
} from '../io/gguf-export.ts';
import type { ReadAdapter } from '../io/peft.ts';
import { bytesSource } from '../io/source.ts';
import { readSafetensorsHeader, writeSafetensors } from '../io/safetensors.ts';
import type { LlamaParams } from '../model/params.ts';
import { parseBudget } from '../model/plan.ts';
import { applyAdapter, checkAdapterFits, loraSettingsOf } from '../model/session.ts';
import { tinyConfigJson, TINY_MODELS } from '../test/fixtures.ts';
import { fetchDemo } from '../worker/demo.ts';
import { describeError } from '../store/errors.ts';
import { errorKind, type ErrorKind } from './errors.ts';

const config = parseHfConfig(tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!));

/** What `f` throws (or its promise rejects with). */
async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a refusal');
}

async function expectKind(f: () => unknown, kind: ErrorKind, message?: RegExp): Promise<void> {
  const e = await thrown(f);
  expect(errorKind(e), String(e)).toBe(kind);
  if (message) expect((e as Error).message).toMatch(message);
  expect(describeError(e).title).not.toBe(describeError(new Error('x')).title);
}

/** An adapter for the tiny model: rank 2 LoRA on q_proj of layer 0, plus `trained`. */
function adapter(trained: ReadAdapter['trained'] = [], targets = ['q_proj']): ReadAdapter {
  return {
    baseModel: 'tiny',
    r: 2,
    alpha: 4,
    targets,
    modulesToSave: [],
    lora: [
      {
        layer: 0,
        module: 'q_proj',
        A: new Float32Array(2 * config.hidden),
        B: new Float32Array(config.heads * config.headDim * 2),
      },
    ],
    trained,
    ropeFactor: 1,
  };
}

describe('export refusals', () => {
  it('a LoRA GGUF of a LoRA+ run (trained norms): lora-gguf-trained, not unsupported-model', async () => {
    const norm = { name: 'model.norm.weight', shape: [config.hidden], data: new Float32Array(16) };
    await expectKind(
      () => loraAdapterGguf(config, adapter([norm]), 'demo'),
      'lora-gguf-trained',
      /Export the merged GGUF instead/,
    );
  });

  it('dynamic RoPE and a tokenizer llama.cpp has no type for: gguf-export', async () => {
    const inv = () => new Float32Array(2);
    await expectKind(
      () => ggufRope({ ...config, ropeScaling: { type: 'dynamic', factor: 2 } }, 1, inv),
      'gguf-export',
    );
    await expectKind(
      () => tokenizerKvsFromHf({ model: { type: 'Unigram' } }, {}, config),
      'gguf-export',
      /Unigram/,
    );
  });
});

describe('adapters that do not fit the model', () => {
  it('a trained lm_head, a module it has no LoRA for, shapes of another model: adapter', async () => {
    const lmHead = { name: 'lm_head.weight', shape: [1], data: new Float32Array(1) };
    await expectKind(
      () => applyAdapter({} as LlamaParams, { ...adapter([lmHead]), lora: [] }),
      'adapter',
      /lm_head/,
    );
    await expectKind(() => loraSettingsOf(adapter([], ['q_proj', 'lm_head'])), 'adapter');
    const wrong = adapter();
    wrong.r = 3;
    await expectKind(() => checkAdapterFits(config, wrong), 'adapter', /does not fit/);
    await expectKind(() => checkAdapterShapes(config, wrong, new Map()), 'adapter');
    const elsewhere = adapter([
      { name: 'model.foo.weight', shape: [1], data: new Float32Array(1) },
    ]);
    await expectKind(
      () => applyAdapter({ trainables: [] } as unknown as LlamaParams, { ...elsewhere, lora: [] }),
      'adapter',
      /model\.foo\.weight/,
    );
  });
});

describe('models this studio cannot train', () => {
  it('an unsupported quantized GGUF tensor and an unsupported safetensors dtype: unsupported-model', async () => {
    await expectKind(
      () =>
        ggufTensorDtype('m.gguf', {
          name: 'blk.0.attn_q.weight',
          dims: [256, 32],
          type: 10,
          typeName: 'Q2_K',
          offset: 0,
          byteLength: 2688,
        }),
      'unsupported-model',
      /Q2_K/,
    );
    const file = writeSafetensors([
      { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ]);
    const text = new TextDecoder().decode(file).replace('"F32"', '"I64"');
    await expectKind(
      () => readSafetensorsHeader(bytesSource('i.safetensors', new TextEncoder().encode(text))),
      'unsupported-model',
      /I64/,
    );
  });

  it('a head dimension the attention kernels do not handle: unsupported-model at load', async () => {
    expect(MAX_HEAD_DIM).toBe(ATTENTION_MAX_HEAD_DIM);
    const json = { ...tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!), head_dim: 256 };
    await expectKind(() => parseHfConfig(json), 'unsupported-model', /head_dim 256/);
  });
});

describe('other refusals', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('a budget that does not parse: settings', async () => {
    await expectKind(() => parseBudget('8GB'), 'settings', /8GiB or 512MiB/);
  });

  it('the demo file missing on the server: network', async () => {
    vi.stubGlobal('self', { location: { href: 'http://localhost:5173/' } });
    vi.stubGlobal('fetch', () =>
      Promise.resolve(new Response('not found', { status: 404, headers: {} })),
    );
    await expectKind(
      () => fetchDemo(['config.json'], 'reading', () => {}),
      'network',
      /config\.json .*HTTP 404/,
    );
  });

  it('every kernel variant failing its check on this GPU: gpu-results', async () => {
    const rt = { sync: () => Promise.resolve() } as unknown as Runtime;
    const candidates = ['tiled', 'direct'].map((name) => ({
      name,
      run: () => {},
      check: () => Promise.resolve(false),
    }));
    await expectKind(
      () => autotune(rt, 'matmul test', candidates, { force: true }),
      'gpu-results',
      /every candidate failed its check \(tiled, direct\)/,
    );
  });
});

describe('production code', () => {
  it('throws no plain Error, TypeError or RangeError: each is a StudioError with its kind', () => {
    const src = fileURLToPath(new URL('..', import.meta.url));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(p);
      }
    };
    walk(src);
    // Test helpers and the float64 reference (only tests and the self-test's matmul use it) may.
    const production = files.filter((f) => !/^(test|reference)[/\\]/.test(relative(src, f)));
    expect(production.length).toBeGreaterThan(50);
    const plain = production.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(src, f)}:${i + 1}` }))
        .filter(({ line }) => /throw new (Error|TypeError|RangeError)\(/.test(line)),
    );
    expect(plain.map((p) => p.at)).toEqual([]);
  });
});
