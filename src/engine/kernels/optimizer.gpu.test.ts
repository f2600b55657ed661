import { describe, expect, it } from 'vitest';
import { adamwStep, gradNormSquared } from './optimizer.ts';
import * as ref from '../../reference/optimizer.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('adamwStep (f32, in place)', () => {
  it('follows the float64 reference over three steps at an odd size', async () => {
    const rt = await testRuntime();
    const n = 1003;
    const rng = new Rng(21);
    const p0 = rng.floats(n);
    const tp = rt.tensor([n], 'f32', 'lora', 'param', p0);
    const tm = rt.tensor([n], 'f32', 'optimizer', 'm', new Float32Array(n));
    const tv = rt.tensor([n], 'f32', 'optimizer', 'v', new Float32Array(n));
    const tg = rt.tensor([n], 'f32', 'gradients', 'grad');
    const p = Float64Array.from(p0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    const base = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5 };
    for (let step = 1; step <= 3; step++) {
      const g = rng.floats(n, -2, 2);
      rt.write(tg, g);
      adamwStep(rt, tp, tg, tm, tv, n, { ...base, step });
      ref.adamwStep(p, g, m, v, n, { ...base, step });
    }
    expectClose('param', await rt.read(tp), p);
    expectClose('m', await rt.read(tm), m);
    expectClose('v', await rt.read(tv), v);
    for (const t of [tp, tm, tv, tg]) t.destroy();
    expect(rt.liveTensors).toBe(0);
  });

  it('touches only the first n elements', async () => {
    const rt = await testRuntime();
    const tp = rt.tensor([4], 'f32', 'lora', 'param', Float32Array.of(1, 1, 1, 1));
    const tg = rt.tensor([4], 'f32', 'gradients', 'grad', Float32Array.of(1, 1, 1, 1));
    const tm = rt.tensor([4], 'f32', 'optimizer', 'm');
    const tv = rt.tensor([4], 'f32', 'optimizer', 'v');
    const h = {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      step: 1,
      gradScale: 1,
    };
    adamwStep(rt, tp, tg, tm, tv, 3, h);
    expectClose('param', await rt.read(tp), [0.9, 0.9, 0.9, 1]);
    for (const t of [tp, tg, tm, tv]) t.destroy();
  });
});

describe.each(['tree', 'serial'] as const)('gradNormSquared (%s partials)', (variant) => {
  it('sums squares over several buffers (only their first n) and gives the same bits twice', async () => {
    const rt = await testRuntime();
    const rng = new Rng(8);
    const specs = [
      { size: 9000, n: 9000 },
      { size: 1, n: 1 },
      { size: 5000, n: 4097 }, // the tail beyond n must be ignored
      { size: 300, n: 0 },
      // 70 blocks: more than one 64-lane workgroup of the serial variant.
      { size: 70 * 4096 - 3, n: 70 * 4096 - 3 },
    ];
    const datas = specs.map((s) => rng.floats(s.size, -3, 3));
    const tensors = specs.map((s, i) => rt.tensor([s.size], 'f32', 'gradients', `g${i}`, datas[i]));
    const out = rt.tensor([1], 'f32', 'workspace', 'out', Float32Array.of(123));
    const grads = tensors.map((tensor, i) => ({ tensor, n: specs[i]!.n }));
    const want = ref.gradNormSquared(datas.map((data, i) => ({ data, n: specs[i]!.n })));
    const got: number[] = [];
    for (let run = 0; run < 2; run++) {
      gradNormSquared(rt, grads, out, variant);
      got.push((await rt.read(out))[0]!);
    }
    expectClose('Σ g²', [got[0]!], [want]);
    expect(got[1]).toBe(got[0]);
    for (const t of [...tensors, out]) t.destroy();
    expect(rt.liveTensors).toBe(0);
    expect(rt.memory.snapshot().current.workspace).toBe(0);
  });
});
