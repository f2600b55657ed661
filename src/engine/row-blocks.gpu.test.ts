/**
 * Row-blocked matrices on a runtime whose binding cap splits a [V, D] table into several blocks: the
 * embedding, the fused output layer + cross-entropy, generation's logits and AdamW/grad-norm give the
 * same bits as on a whole (unsplit) matrix, and match the float64 references.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropyForward, logitsForward } from './kernels/cross_entropy.ts';
import { embeddingBackward, embeddingForward } from './kernels/embedding.ts';
import { adamwStep, gradNormSquared } from './kernels/optimizer.ts';
import { allocRowBlocks, zerosLike, type RowBlocks } from './row-blocks.ts';
import type { DType, Runtime, Tensor } from './runtime.ts';
import * as refCe from '../reference/cross_entropy.ts';
import * as refEmb from '../reference/embedding.ts';
import { cappedRuntime, testRuntime } from '../test/gpu.ts';
import { expectClose } from '../test/numeric.ts';
import { decodeHalves, encodeHalves } from '../util/half.ts';
import { Rng } from '../util/rng.ts';

// D odd so packed 16-bit blocks need an even row count; 384-byte blocks split [53, 7] f32 into
// 13 + 13 + 13 + 13 + 1 rows and bf16 into 26 + 26 + 1.
const [V, D, T] = [53, 7, 13];
const CAPS = { maxStorageBufferBindingSize: 384, maxBufferSize: 512 };

function table(
  values: Float32Array,
  dtype: DType,
): { data: ArrayBufferView; values: Float32Array } {
  if (dtype === 'bf16' || dtype === 'f16') {
    const h = encodeHalves(values, dtype);
    return { data: h, values: decodeHalves(h, dtype) };
  }
  return { data: values, values };
}

const bits = (a: Float32Array) =>
  new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

describe('row-blocked matrices', () => {
  let capped: Runtime | null = null;
  const small = async () => (capped ??= await cappedRuntime(CAPS));
  afterAll(() => capped?.destroy(true));

  it('split under the caps, with per-category accounting, read/write whole and destroy()', async () => {
    const rt = await small();
    const base = rt.memory.snapshot().current;
    const rng = new Rng(1);
    const vals = rng.floats(V * D);
    const f = allocRowBlocks(rt, [V, D], 'f32', 'lora', 'embed', vals);
    expect(f.blocks.map((b) => b.shape[0])).toEqual([13, 13, 13, 13, 1]);
    expect(f.blocks.map((b) => b.label)).toContain('embed[13:26]');
    expect(f.bytes).toBe(V * D * 4);
    const h = table(rng.floats(V * D), 'bf16');
    const b = allocRowBlocks(rt, [V, D], 'bf16', 'weights', 'head', h.data);
    expect(b.blocks.map((x) => x.shape[0])).toEqual([26, 26, 1]);
    const m = zerosLike(rt, f, 'optimizer', 'embed m');
    let now = rt.memory.snapshot().current;
    expect(now.lora - base.lora).toBe(V * D * 4);
    expect(now.optimizer - base.optimizer).toBe(V * D * 4);
    expect(now.weights - base.weights).toBe(364 + 364 + 16);
    expect([...(await rt.read(f))]).toEqual([...vals]);
    expect([...(await rt.read(b))]).toEqual([...h.values]);
    expect([...(await rt.read(m))].every((x) => x === 0)).toBe(true);
    const w2 = rng.floats(V * D);
    rt.write(m, w2);
    expect([...(await rt.read(m))]).toEqual([...w2]);
    rt.zero(m);
    expect([...(await rt.read(m))].every((x) => x === 0)).toBe(true);
    [f, b, m].forEach((x) => x.destroy());
    now = rt.memory.snapshot().current;
    expect(now).toEqual(base);
  });

  for (const dtype of ['f32', 'bf16', 'f16'] as const) {
    it(`embedding forward and backward across blocks (${dtype} table) = whole table, bit for bit`, async () => {
      const rt = await small();
      const whole = await testRuntime();
      const rng = new Rng(7);
      const tab = table(rng.floats(V * D), dtype);
      const ids = Uint32Array.from({ length: T }, () => rng.int(V));
      ids[2] = V - 1; // the 1-row last f32 block
      ids[4] = V + 5; // beyond the table: zeros, no gradient
      ids[7] = ids[0]!; // a repeated id
      const dOut = rng.floats(T * D, -2, 2);
      const run = async (r: Runtime, split: boolean) => {
        const tids = r.tensor([T], 'u32', 'activations', 'ids', ids);
        const out = r.tensor([T, D], 'f32', 'activations', 'out', rng.floats(T * D));
        const tabT: RowBlocks | Tensor = split
          ? allocRowBlocks(r, [V, D], dtype, 'weights', 'table', tab.data)
          : r.tensor([V, D], dtype, 'weights', 'table', tab.data);
        embeddingForward(r, tids, tabT, out, T, D);
        const fwd = await r.read(out);
        const dT: RowBlocks | Tensor = split
          ? allocRowBlocks(
              r,
              [V, D],
              'f32',
              'gradients',
              'dTable',
              new Float32Array(V * D).fill(0.5),
            )
          : r.tensor([V, D], 'f32', 'gradients', 'dTable', new Float32Array(V * D).fill(0.5));
        const tdOut = r.tensor([T, D], 'f32', 'activations', 'dOut', dOut);
        embeddingBackward(r, ids, tdOut, dT, T, D);
        const bwd = await r.read(dT);
        [tids, out, tabT, dT, tdOut].forEach((x) => x.destroy());
        return { fwd, bwd };
      };
      const a = await run(rt, true);
      const b = await run(whole, false);
      expect(bits(a.fwd)).toEqual(bits(b.fwd));
      expect(bits(a.bwd)).toEqual(bits(b.bwd));
      expectClose('forward', a.fwd, refEmb.embeddingForward(ids, tab.values, T, D), 0, 0);
      const want = refEmb.embeddingBackward(ids, dOut, V, T, D).map((x) => x + 0.5);
      expectClose('backward', a.bwd, want, 1e-4);
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const variant of ['tiled', 'direct'] as const) {
    for (const [dtype, withDW] of [
      ['f32', true],
      ['bf16', false],
    ] as const) {
      it(`cross-entropy over a ${dtype} W in blocks (${variant}${withDW ? ', dW' : ''}) = whole W, bit for bit`, async () => {
        const rt = await small();
        const whole = await testRuntime();
        const rng = new Rng(11);
        const hidden = rng.floats(T * D, -2, 2);
        const w = table(rng.floats(V * D, -1, 1), dtype);
        const labels = Int32Array.from({ length: T }, () => rng.int(V));
        labels[3] = -100;
        labels[5] = V - 1;
        const count = labels.filter((l) => l >= 0).length;
        const dW0 = rng.floats(V * D);
        const run = async (r: Runtime, split: boolean) => {
          const th = r.tensor([T, D], 'f32', 'activations', 'hidden', hidden);
          const tl = r.tensor([T], 'i32', 'activations', 'labels', labels);
          const tloss = r.tensor([1], 'f32', 'activations', 'loss');
          const tdh = r.tensor([T, D], 'f32', 'gradients', 'dHidden', rng.floats(T * D));
          const tw = split
            ? allocRowBlocks(r, [V, D], dtype, 'weights', 'W', w.data)
            : r.tensor([V, D], dtype, 'weights', 'W', w.data);
          const tdw = !withDW
            ? undefined
            : split
              ? allocRowBlocks(r, [V, D], 'f32', 'gradients', 'dW', dW0)
              : r.tensor([V, D], 'f32', 'gradients', 'dW', dW0);
          // The capped runtime's logits workspace holds one token row: chunk 1 (several chunks).
          crossEntropyForward(r, th, tw, tl, tloss, {
            T,
            D,
            V,
            chunk: 1,
            dHidden: tdh,
            dW: tdw,
            gradScale: 1 / count,
            variant,
          });
          const got = {
            loss: await r.read(tloss),
            dHidden: await r.read(tdh),
            dW: tdw ? await r.read(tdw) : undefined,
          };
          const tlog = r.tensor([1, V], 'f32', 'activations', 'logits');
          const last = r.tensor([1, D], 'f32', 'activations', 'last', hidden.subarray(0, D));
          logitsForward(r, last, tw, tlog, 1, D, V, variant);
          const logits = await r.read(tlog);
          [th, tl, tloss, tdh, tw, tdw, tlog, last].forEach((x) => x?.destroy());
          return { ...got, logits };
        };
        const a = await run(rt, true);
        const b = await run(whole, false);
        expect(bits(a.loss)).toEqual(bits(b.loss));
        expect(bits(a.dHidden)).toEqual(bits(b.dHidden));
        expect(bits(a.logits)).toEqual(bits(b.logits));
        if (withDW) expect(bits(a.dW!)).toEqual(bits(b.dW!));
        const want = refCe.crossEntropyForward(hidden, w.values, labels, T, D, V, 1 / count);
        expectClose('loss', a.loss, [want.loss]);
        expectClose('dHidden', a.dHidden, want.dHidden, 1e-4);
        if (withDW)
          expectClose(
            'dW',
            a.dW!,
            want.dW.map((x, i) => x + dW0[i]!),
            1e-4,
          );
        expectClose(
          'logits',
          a.logits,
          refCe.logitsForward(hidden.subarray(0, D), w.values, 1, D, V),
        );
        expect(rt.liveTensors).toBe(0);
      });
    }
  }

  it('AdamW and the grad norm over blocks = over a whole buffer, bit for bit', async () => {
    const rt = await small();
    const whole = await testRuntime();
    const rng = new Rng(5);
    const p0 = rng.floats(V * D);
    const grads = [rng.floats(V * D, -2, 2), rng.floats(V * D, -2, 2)];
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5 };
    const run = async (r: Runtime, split: boolean) => {
      const mk = (cat: 'lora' | 'gradients' | 'optimizer', name: string, data?: Float32Array) =>
        split
          ? allocRowBlocks(r, [V, D], 'f32', cat, name, data ?? new Float32Array(V * D))
          : r.tensor([V, D], 'f32', cat, name, data ?? new Float32Array(V * D));
      const [p, g, m, v] = [
        mk('lora', 'p', p0),
        mk('gradients', 'g'),
        mk('optimizer', 'm'),
        mk('optimizer', 'v'),
      ];
      const norm = r.tensor([1], 'f32', 'workspace', 'norm');
      const norms: number[] = [];
      for (let step = 1; step <= 2; step++) {
        r.write(g, grads[step - 1]!);
        gradNormSquared(r, [{ tensor: g, n: V * D }], norm);
        norms.push((await r.read(norm))[0]!);
        adamwStep(r, p, g, m, v, V * D, { ...h, step });
      }
      const out = { p: await r.read(p), m: await r.read(m), v: await r.read(v), norms };
      [p, g, m, v, norm].forEach((x) => x.destroy());
      return out;
    };
    const a = await run(rt, true);
    const b = await run(whole, false);
    expect(bits(a.p)).toEqual(bits(b.p));
    expect(bits(a.m)).toEqual(bits(b.m));
    expect(bits(a.v)).toEqual(bits(b.v));
    // The norm sums the same squares in another grouping: equal to f32 rounding.
    const want = grads.map((g) => g.reduce((s, x) => s + x * x, 0));
    expectClose('norm² (split)', a.norms, want, 1e-5);
    expectClose('norm² (whole)', b.norms, want, 1e-5);
    expect(rt.liveTensors).toBe(0);
  });
});
