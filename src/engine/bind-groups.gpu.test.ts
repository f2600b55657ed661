import { describe, expect, it } from 'vitest';
import { LlamaModel } from '../model/llama.ts';
import { LlamaParams } from '../model/params.ts';
import type { LinearName } from '../model/types.ts';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { refWeightSource, shapeOfRef } from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import type { Runtime, Tensor } from './runtime.ts';

const QV: LinearName[] = ['q_proj', 'v_proj'];

const SCALE = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct Params { k: f32 }
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&y)) { y[g.x] = x[g.x] * p.k; }
}
`;

let registered = false;
async function scaleRuntime(): Promise<Runtime> {
  const rt = await testRuntime();
  if (!registered) rt.registerShader('test.bind-groups.scale', SCALE);
  registered = true;
  return rt;
}

/** y = k·x for x's first n values (n ≤ 64), with k in the Params. */
function scale(rt: Runtime, x: Tensor, y: Tensor, k: number): void {
  rt.dispatch({
    shader: 'test.bind-groups.scale',
    bindings: [x, y],
    params: new Float32Array([k, 0, 0, 0]).buffer,
    workgroups: [1],
  });
}

describe('bind-group cache', () => {
  it('reuses a group across submits and drops it with its tensor: a new tensor gets its own', async () => {
    const rt = await scaleRuntime();
    expect(rt.bindGroupCache).toBe(true);
    const before = rt.cachedBindGroups;
    const x = rt.tensor(
      [64],
      'f32',
      'workspace',
      'x',
      Float32Array.from({ length: 64 }, (_, i) => i),
    );
    const y = rt.tensor([64], 'f32', 'workspace', 'y');
    scale(rt, x, y, 2);
    rt.flush();
    expect(rt.cachedBindGroups).toBe(before + 1);
    // The same launch with the same Params after a submit: their slot in the uniform arena, and
    // the cached group; new Params get a new slot and a new group.
    scale(rt, x, y, 2);
    expect(rt.cachedBindGroups).toBe(before + 1);
    scale(rt, x, y, 3);
    expect(rt.cachedBindGroups).toBe(before + 2);
    expect(Array.from(await rt.read(y))).toEqual(Array.from({ length: 64 }, (_, i) => 3 * i));

    // Use after free: x's buffer is destroyed; a tensor made after it (the allocator may hand out
    // an equal shape, label and slot) must not be bound through x's group.
    x.destroy();
    expect(rt.cachedBindGroups).toBe(before);
    const x2 = rt.tensor(
      [64],
      'f32',
      'workspace',
      'x',
      Float32Array.from({ length: 64 }, () => 5),
    );
    scale(rt, x2, y, 3);
    expect(Array.from(await rt.read(y))).toEqual(new Array(64).fill(15));
    // The output too: its groups go with it, and a new output is written, not the old one.
    y.destroy();
    expect(rt.cachedBindGroups).toBe(before);
    const y2 = rt.tensor([64], 'f32', 'workspace', 'y');
    scale(rt, x2, y2, 1);
    expect(Array.from(await rt.read(y2))).toEqual(new Array(64).fill(5));
    await rt.sync(); // no validation error (a destroyed buffer in a submit) is pending
    x2.destroy();
    y2.destroy();
    expect(rt.cachedBindGroups).toBe(before);
  });

  it('a row view is its own entry, keyed by offset and size', async () => {
    const rt = await scaleRuntime();
    const x = rt.tensor(
      [128, 1],
      'f32',
      'workspace',
      'x',
      Float32Array.from({ length: 128 }, (_, i) => i),
    );
    const y = rt.tensor([64], 'f32', 'workspace', 'y');
    const before = rt.cachedBindGroups;
    for (const row0 of [0, 64, 0, 64]) {
      rt.dispatch({
        shader: 'test.bind-groups.scale',
        bindings: [x.rows(row0, 64), y],
        params: new Float32Array([1, 0, 0, 0]).buffer,
        workgroups: [1],
      });
      expect(Array.from(await rt.read(y))).toEqual(Array.from({ length: 64 }, (_, i) => row0 + i));
    }
    expect(rt.cachedBindGroups).toBe(before + 2);
    x.destroy();
    y.destroy();
    expect(rt.cachedBindGroups).toBe(before);
  });

  it('a model step gives the same bytes with the cache on and off', async () => {
    const rt = await testRuntime();
    const cfg: RefConfig = {
      vocab: 37,
      hidden: 16,
      intermediate: 24,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 4,
      rmsEps: 1e-5,
      ropeTheta: 10000,
      ropeFactor: 2,
      tied: false,
      pattern: 's2',
      group: 8,
      loraTargets: QV,
      rank: 2,
      alpha: 4,
    };
    const rng = new Rng(3);
    const tokens = Uint32Array.from({ length: 32 }, () => rng.int(cfg.vocab));
    const labels = Int32Array.from(tokens, (t, i) => (i === 31 ? -100 : t));
    const run = async (cache: boolean) => {
      rt.bindGroupCache = cache;
      const shape = shapeOfRef(cfg);
      const lora = {
        rank: 2,
        alpha: 4,
        targets: QV,
        trainEmbed: true,
        trainNorm: true,
      };
      const params = await LlamaParams.load(
        rt,
        shape,
        lora,
        refWeightSource(shape, randomRefModel(cfg, 7), 'BF16'),
        1,
      );
      const model = new LlamaModel(rt, params, { checkpointing: true });
      const losses: number[] = [];
      // Three passes: from the second on, the cache hands out the first's groups.
      for (let i = 0; i < 3; i++)
        losses.push(
          await model.forwardBackward(
            { ids: tokens, labels },
            { pattern: 's2', group: 8, ropeFactor: 2 },
          ),
        );
      const grads: Uint8Array[] = [];
      for (const t of params.trainables) grads.push(new Uint8Array((await rt.read(t.grad)).buffer));
      const cached = rt.cachedBindGroups;
      model.destroy();
      params.destroy();
      return { losses, grads, cached };
    };
    const off = await run(false);
    const on = await run(true);
    rt.bindGroupCache = true;
    expect(off.cached).toBe(0);
    expect(on.cached).toBeGreaterThan(0);
    expect(on.losses).toEqual(off.losses);
    expect(on.grads.length).toBe(off.grads.length);
    on.grads.forEach((g, i) => {
      const o = off.grads[i]!;
      const at = g.findIndex((b, j) => b !== o[j]);
      expect(at, `gradient ${i}: first differing byte`).toBe(-1);
    });
    // Every group bound a tensor now destroyed.
    expect(rt.cachedBindGroups).toBe(0);
    expect(rt.liveTensors).toBe(0);
  });
});
