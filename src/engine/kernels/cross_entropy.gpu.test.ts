import { describe, expect, it } from 'vitest';
import {
  crossEntropyForward,
  logitsForward,
  type CrossEntropyVariant,
  type OutputMatmuls,
} from './cross_entropy.ts';
import { decodeHalves, encodeHalves } from '../../util/half.ts';
import type { DType, Runtime } from '../runtime.ts';
import * as ref from '../../reference/cross_entropy.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

/** A [V, D] weight of the given dtype and the f32 values it really holds (16-bit decoded). */
function weight(
  values: Float32Array,
  dtype: DType,
): { data: ArrayBufferView; values: Float32Array } {
  if (dtype === 'bf16' || dtype === 'f16') {
    const h = encodeHalves(values, dtype);
    return { data: h, values: decodeHalves(h, dtype) };
  }
  return { data: values, values };
}

function labelsFor(rng: Rng, T: number, V: number): Int32Array {
  const labels = Int32Array.from({ length: T }, () => rng.int(V));
  for (let t = 0; t < T; t += 4) labels[t] = -100;
  return labels;
}

async function runCase(
  rt: Runtime,
  o: {
    T: number;
    D: number;
    V: number;
    dtype: DType;
    chunk?: number;
    withDW: boolean;
    seed: number;
    variant: CrossEntropyVariant;
    matmuls: OutputMatmuls;
    quadBroadcast?: boolean;
  },
) {
  const { T, D, V, dtype } = o;
  const rng = new Rng(o.seed);
  const hidden = rng.floats(T * D, -2, 2);
  const w = weight(rng.floats(V * D, -1, 1), dtype);
  const labels = labelsFor(rng, T, V);
  const count = labels.filter((l) => l >= 0).length;
  const dW0 = rng.floats(V * D);
  const th = rt.tensor([T, D], 'f32', 'activations', 'hidden', hidden);
  const tw = rt.tensor([V, D], dtype, 'weights', 'W', w.data);
  const tl = rt.tensor([T], 'i32', 'activations', 'labels', labels);
  const tloss = rt.tensor([1], 'f32', 'activations', 'loss');
  const tdh = rt.tensor([T, D], 'f32', 'gradients', 'dHidden', rng.floats(T * D));
  const tdw = o.withDW ? rt.tensor([V, D], 'f32', 'gradients', 'dW', dW0) : undefined;
  // The dispatches' labels: which products ran through the linear launchers.
  const labels0: string[] = [];
  const dispatch = rt.dispatch.bind(rt);
  rt.dispatch = (spec) => (labels0.push(spec.label ?? ''), dispatch(spec));
  crossEntropyForward(rt, th, tw, tl, tloss, {
    T,
    D,
    V,
    chunk: o.chunk,
    dHidden: tdh,
    dW: tdw,
    gradScale: 1 / count,
    variant: o.variant,
    matmuls: o.matmuls,
    quadBroadcast: o.quadBroadcast,
  });
  rt.dispatch = dispatch;
  const want = ref.crossEntropyForward(hidden, w.values, labels, T, D, V, 1 / count);
  const got = {
    loss: (await rt.read(tloss))[0]!,
    dHidden: await rt.read(tdh),
    dW: tdw ? await rt.read(tdw) : undefined,
  };
  for (const t of [th, tw, tl, tloss, tdh, tdw]) t?.destroy();
  const linear = labels0.filter((l) => l.startsWith('linear.'));
  // The 16-byte-load kernels: direct8, or quad where the adapter has subgroups.
  const wide = (product: string) =>
    labels0.filter((l) => new RegExp(`^crossEntropy ${product} (direct8|quad) `).test(l)).length;
  const wideDW = wide('dW');
  const wideDH = wide('dHidden');
  const quad = labels0.filter((l) => /^crossEntropy \w+ quad /.test(l)).length;
  return { got, want, dW0, linear, wideDW, wideDH, quad };
}

/**
 * This file's kernels in both families, and the direct family with the linear launchers' products:
 * where they apply ('linear') and where the product uses them ('auto').
 */
const KERNELS = [
  ['tiled', 'own'],
  ['direct', 'own'],
  ['direct', 'linear'],
  ['direct', 'auto'],
] as const;

describe.each(KERNELS)(
  'cross-entropy fused with the output layer (%s kernels, %s matmuls)',
  (variant, matmuls) => {
    // Through the linear launchers (matmuls 'linear'): the logits of the D-aligned cases; dHidden also
    // where V is (T=40, T=24); neither at odd D (their own kernels then).
    const cases = [
      { T: 37, D: 19, V: 53, chunk: 8, linear: [] },
      { T: 5, D: 33, V: 300, chunk: undefined, linear: [] },
      { T: 1, D: 1, V: 2, chunk: 1, linear: [] },
      { T: 43, D: 64, V: 70, chunk: 18, linear: ['forward'] },
      { T: 40, D: 32, V: 96, chunk: 16, linear: ['forward', 'backwardInput'] },
      // V ≡ 4 (mod 8): the wide dW kernel's last lanes have half a block.
      { T: 24, D: 16, V: 100, chunk: 24, linear: ['forward', 'backwardInput'] },
      // A last chunk of 15 rows: the quad dW kernel's last 3 rows run without broadcasts.
      { T: 31, D: 24, V: 44, chunk: 16, linear: ['forward', 'backwardInput'] },
    ];
    for (const dtype of ['f32', 'bf16', 'f16'] as const) {
      for (const c of cases) {
        it(`loss, dHidden${dtype === 'f32' ? ', dW' : ''} match the reference (${dtype} W, T=${c.T}, D=${c.D}, V=${c.V}, chunk=${c.chunk ?? 'auto'})`, async () => {
          const rt = await testRuntime();
          const withDW = dtype === 'f32';
          const { got, want, dW0, linear, wideDW, wideDH, quad } = await runCase(rt, {
            ...c,
            dtype,
            withDW,
            seed: c.T + c.V,
            variant,
            matmuls,
          });
          // Each chunk's products, through the linear launchers exactly where they apply.
          const chunks = Math.ceil(c.T / (c.chunk ?? c.T));
          // 'auto': dHidden by its own kernel on a CPU adapter.
          const ops =
            matmuls === 'own'
              ? []
              : c.linear.filter(
                  (o) => matmuls === 'linear' || o === 'forward' || !rt.info.isSoftware,
                );
          expect(linear.map((l) => l.split(' ')[0])).toEqual(
            Array.from({ length: chunks }, () => ops.map((o) => `linear.${o}`)).flat(),
          );
          // dW by the 16-byte-load kernel where D and V are 4-aligned (direct family, not 'own').
          const wide = variant === 'direct' && matmuls !== 'own' && c.D % 4 === 0 && c.V % 4 === 0;
          expect(wideDW).toBe(withDW && wide ? chunks : 0);
          // dHidden by the 16-byte-load kernel where W is f32 and D 4-aligned, unless it went to
          // the linear launchers.
          const wideH =
            variant === 'direct' &&
            matmuls !== 'own' &&
            dtype === 'f32' &&
            c.D % 4 === 0 &&
            !ops.includes('backwardInput');
          expect(wideDH).toBe(wideH ? chunks : 0);
          // Those are the quad kernels exactly where the adapter has subgroups.
          expect(quad).toBe(rt.info.features.subgroups ? wideDW + wideDH : 0);
          expectClose('loss', [got.loss], [want.loss]);
          expectClose('dHidden', got.dHidden, want.dHidden, 1e-4);
          if (withDW)
            expectClose(
              'dW',
              got.dW!,
              want.dW.map((v, i) => v + dW0[i]!),
              1e-4,
            );
          expect(rt.liveTensors).toBe(0);
          expect(rt.memory.snapshot().current.workspace).toBe(0);
        });
      }
    }

    it('loss, dHidden and dW give the same bits in two runs', async () => {
      const rt = await testRuntime();
      const runs: { loss: number; dHidden: Uint32Array; dW: Uint32Array }[] = [];
      for (let run = 0; run < 2; run++) {
        const { got } = await runCase(rt, {
          T: 45,
          D: 24,
          V: 70,
          chunk: 16,
          dtype: 'f32',
          withDW: true,
          seed: 5,
          variant,
          matmuls,
        });
        runs.push({
          loss: got.loss,
          dHidden: new Uint32Array(got.dHidden.buffer.slice(0)),
          dW: new Uint32Array(got.dW!.buffer.slice(0)),
        });
      }
      expect(runs[1]!.dW).toEqual(runs[0]!.dW);
      expect(runs[1]!.dHidden).toEqual(runs[0]!.dHidden);
      expect(runs[1]!.loss).toBe(runs[0]!.loss);
    });

    it('the quad kernels give the same bits with quadBroadcast as with subgroupBroadcast', async () => {
      const rt = await testRuntime();
      const runs = [];
      for (const quadBroadcast of [false, true]) {
        const { got, quad } = await runCase(rt, {
          T: 31,
          D: 24,
          V: 44,
          chunk: 16,
          dtype: 'f32',
          withDW: true,
          seed: 9,
          variant,
          matmuls,
          quadBroadcast,
        });
        runs.push({ got, quad });
      }
      // Where the quad kernels ran (CPU adapters with subgroups; 2 chunks, dW, and dHidden unless
      // the linear launchers took it), whichever broadcast shared the values, the arithmetic is
      // the same.
      const ran = variant === 'direct' && matmuls !== 'own' && rt.info.features.subgroups;
      const per = matmuls === 'linear' ? 2 : 4;
      expect(runs.map((r) => r.quad)).toEqual(ran ? [per, per] : [0, 0]);
      expect(new Uint32Array(runs[1]!.got.dW!.buffer)).toEqual(
        new Uint32Array(runs[0]!.got.dW!.buffer),
      );
      expect(new Uint32Array(runs[1]!.got.dHidden.buffer)).toEqual(
        new Uint32Array(runs[0]!.got.dHidden.buffer),
      );
    });

    it('forward only (no gradients) with a caller-owned logits workspace', async () => {
      const rt = await testRuntime();
      const [T, D, V] = [21, 10, 40];
      const rng = new Rng(3);
      const hidden = rng.floats(T * D, -3, 3);
      const W = rng.floats(V * D);
      const labels = labelsFor(rng, T, V);
      const th = rt.tensor([T, D], 'f32', 'activations', 'hidden', hidden);
      const tw = rt.tensor([V, D], 'f32', 'weights', 'W', W);
      const tl = rt.tensor([T], 'i32', 'activations', 'labels', labels);
      const tloss = rt.tensor([1], 'f32', 'activations', 'loss');
      const ws = rt.tensor([6, V], 'f32', 'workspace', 'logits ws'); // 6-token chunks
      crossEntropyForward(rt, th, tw, tl, tloss, {
        T,
        D,
        V,
        logitsWorkspace: ws,
        variant,
        matmuls,
      });
      const want = ref.crossEntropyForward(hidden, W, labels, T, D, V).loss;
      expectClose('loss', await rt.read(tloss), [want]);
      for (const t of [th, tw, tl, tloss, ws]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  },
);

describe.each(KERNELS)('logitsForward (%s kernel, %s matmuls)', (variant, matmuls) => {
  for (const dtype of ['f32', 'bf16', 'f16'] as const) {
    for (const [T, D, V] of [
      [3, 37, 45],
      [1, 64, 9],
      [9, 8, 33],
      [70, 16, 24],
    ] as const) {
      it(`matches hidden · Wᵀ with a ${dtype} W at T=${T}, D=${D}, V=${V}`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(17 + T);
        const hidden = rng.floats(T * D);
        const w = weight(rng.floats(V * D), dtype);
        const th = rt.tensor([T, D], 'f32', 'activations', 'hidden', hidden);
        const tw = rt.tensor([V, D], dtype, 'weights', 'W', w.data);
        const tlog = rt.tensor([T, V], 'f32', 'activations', 'logits');
        logitsForward(rt, th, tw, tlog, T, D, V, variant, matmuls);
        expectClose('logits', await rt.read(tlog), ref.logitsForward(hidden, w.values, T, D, V));
        for (const t of [th, tw, tlog]) t.destroy();
      });
    }
  }
});
