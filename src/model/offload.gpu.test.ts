/**
 * Offloaded checkpoints (issue 27 item 1): a training step whose layer-input checkpoints live in host
 * memory gives the loss and every gradient of the step that keeps them on the GPU, to the bit, with
 * f32 and 16-bit checkpoints, whole and with every per-token buffer (and the staging buffers) stored
 * in parts; and what it allocates is its plan to the byte, on the GPU per category and in host
 * memory. Runs in Node and in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import type { Runtime } from '../engine/runtime.ts';
import { cappedRuntimes, refWeightSource, setNonZeroLora, shapeOfRef } from '../test/parity.ts';
import { testRuntime } from '../test/gpu.ts';
import { Rng } from '../util/rng.ts';
import { OFFLOAD_STAGING_BUFFERS } from './activations.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { planTraining } from './plan.ts';
import { LINEAR_NAMES, type LinearName } from './types.ts';

const ALL: LinearName[] = [...LINEAR_NAMES];
const T = 200;

const config: RefConfig = {
  vocab: 96,
  hidden: 64,
  intermediate: 64,
  layers: 3,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 2,
  tied: false,
  pattern: 's2',
  group: 40,
  loraTargets: ALL,
  rank: 4,
  alpha: 8,
};
const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: true, trainNorm: true };
const pass = { pattern: 's2' as const, group: 40, ropeFactor: 2 };

/** The first element where two gradients' bits differ, or null. */
function firstDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  const [x, y] = [new Uint32Array(a.buffer), new Uint32Array(b.buffer)];
  for (let i = 0; i < x.length; i++)
    if (x[i] !== y[i]) return `[${i}]: ${a[i]} vs ${b[i]} (offloaded)`;
  return null;
}

/** Loss and every trainable gradient of one step, and what it left allocated on the GPU and host. */
async function step(rt: Runtime, params: LlamaParams, checkpoint16: boolean, offload: boolean) {
  const base = rt.memory.snapshot().current;
  const rng = new Rng(4);
  const tokens = Array.from({ length: T }, () => rng.int(config.vocab));
  const ids = Uint32Array.from(tokens);
  const labels = Int32Array.from(tokens, (_, t) =>
    t + 1 < T && t % 41 !== 3 ? tokens[t + 1]! : -100,
  );
  const model = new LlamaModel(rt, params, { checkpointing: true, checkpoint16, offload });
  params.zeroGrads();
  const loss = await model.forwardBackward({ ids, labels }, pass);
  const used = rt.memory.snapshot().current;
  const grads = new Map<string, Float32Array>();
  for (const t of params.trainables) grads.set(t.name, await rt.read(t.grad));
  const host = model.hostBytes;
  // A second step on the same buffers: the rotation and the uploads start over cleanly.
  params.zeroGrads();
  const again = await model.forwardBackward({ ids, labels }, pass);
  model.destroy();
  return { loss, again, grads, host, base, used };
}

describe.each([
  { name: 'whole buffers', caps: null },
  // Every [200, 64] f32 buffer in 4 parts of 64 tokens, the 16-bit checkpoints and staging in 2.
  {
    name: 'buffers stored in parts (16 KiB)',
    caps: { maxBufferSize: 16384, maxStorageBufferBindingSize: 16384 },
  },
])('offloaded checkpoints, $name', ({ caps }) => {
  const runtimeFor = cappedRuntimes();
  const runtime = () => (caps ? runtimeFor(caps) : testRuntime());

  it.each([false, true])(
    'equal the step that keeps them on the GPU bit for bit, and the plan (16-bit: %s)',
    async (checkpoint16) => {
      const rt = await runtime();
      const shape = shapeOfRef(config);
      const w = randomRefModel(config, 23);
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, 'BF16'), 1);
      setNonZeroLora(params, w, ALL, 1);
      const kept = await step(rt, params, checkpoint16, false);
      const off = await step(rt, params, checkpoint16, true);
      expect(kept.host).toBe(0);
      expect(off.loss).toBe(kept.loss);
      expect(off.again).toBe(kept.loss);
      expect(kept.again).toBe(kept.loss);
      const differ: string[] = [];
      for (const [name, g] of kept.grads) {
        const d = firstDifference(g, off.grads.get(name)!);
        if (d) differ.push(`${name} ${d}`);
      }
      expect(differ).toEqual([]);

      // Plan = allocation: the GPU per category (staging buffers in workspace) and host memory.
      const input = {
        shape,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing: true,
        checkpoint16,
        optimizerState: true,
        ...(caps ? { limits: rt.info.limits } : {}),
      };
      for (const [run, offload] of [
        [kept, false],
        [off, true],
      ] as const) {
        const plan = planTraining({ ...input, offload });
        const activations = run.used.activations - run.base.activations;
        expect(activations, `activations, offload ${offload}`).toBe(plan.bytes.activations);
        // Workspace holds what persists; the kernels' transient scratch is freed at once.
        expect(run.used.workspace - run.base.workspace).toBeLessThanOrEqual(plan.bytes.workspace);
        expect(run.host, `host, offload ${offload}`).toBe(plan.host.checkpoints);
      }
      const planKept = planTraining({ ...input, offload: false });
      const planOff = planTraining({ ...input, offload: true });
      const ckpt = (checkpoint16 ? 2 : 4) * T * config.hidden;
      // Offloaded: L checkpoints in host memory, the GPU keeps one packed buffer (16-bit) or one
      // more f32 residual buffer than none (f32: 2 instead of L + 1), and the staging buffers.
      expect(planOff.host.checkpoints).toBe(config.layers * ckpt);
      expect(planKept.bytes.activations - planOff.bytes.activations).toBe(
        (config.layers - 1) * ckpt,
      );
      expect(planOff.bytes.workspace - planKept.bytes.workspace).toBe(
        OFFLOAD_STAGING_BUFFERS * ckpt,
      );
      expect(
        off.used.workspace - off.base.workspace - (kept.used.workspace - kept.base.workspace),
      ).toBe(OFFLOAD_STAGING_BUFFERS * ckpt);
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    },
  );
});
