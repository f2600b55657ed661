/**
 * Row views (Tensor.rows): kernels bound to a byte range of a tensor see it as a whole buffer. The
 * matmul, LoRA and elementwise launchers run over 64-row token blocks of [T, ·] tensors and give the
 * whole-tensor launch's values (bit for bit per row; LoRA weight gradients accumulated over blocks
 * to rounding); under a binding cap smaller than the tensors the blocked launches run while the
 * whole ones are refused; misaligned or out-of-range views are refused by name. A per-token tensor
 * past maxBufferSize (Runtime.rowsTensor) is stored in parts of 64·2^k rows: written, read, zeroed
 * and copied across parts as one tensor, bound only through views inside one part.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TooLargeError } from './errors.ts';
import { swigluBackward, swigluForward } from './kernels/elementwise.ts';
import { loraBackward, loraForward } from './kernels/lora.ts';
import { linearBackwardInput, linearForward } from './kernels/matmul.ts';
import { partRows, type Runtime, type Tensor } from './runtime.ts';
import { cappedRuntime, testRuntime } from '../test/gpu.ts';
import { expectClose } from '../test/numeric.ts';
import { InternalError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

const T = 200;
const IN = 64;
const OUT = 48;
const R = 8;
const TB = 64;
// [200, 64] f32 is 51200 bytes: over the cap; a 64-row view of it (16384) is within.
const CAPS = { maxStorageBufferBindingSize: 20480 };

/** [t0, n] of each token block. */
function blocks(total: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t0 = 0; t0 < total; t0 += per) out.push([t0, Math.min(per, total - t0)]);
  return out;
}

function operands(rt: Runtime) {
  const rng = new Rng(11);
  const f = (shape: number[], label: string, lo = -1, hi = 1) =>
    rt.tensor(shape, 'f32', 'activations', label, rng.floats(shape[0]! * (shape[1] ?? 1), lo, hi));
  const z = (shape: number[], label: string) => rt.tensor(shape, 'f32', 'activations', label);
  const t = {
    x: f([T, IN], 'x'),
    w: f([OUT, IN], 'w', -0.3, 0.3),
    A: f([R, IN], 'A', -0.5, 0.5),
    B: f([OUT, R], 'B', -0.5, 0.5),
    dy: f([T, OUT], 'dy'),
    y: z([T, OUT], 'y'),
    xa: z([T, R], 'xa'),
    dx: z([T, IN], 'dx'),
    dA: z([R, IN], 'dA'),
    dB: z([OUT, R], 'dB'),
    ws: z([T, R], 'ws'),
  };
  return { t, destroy: () => Object.values(t).forEach((x: Tensor) => x.destroy()) };
}

/** Base linear + LoRA forward and backward, whole (per = T) or in blocks of `per` tokens. */
function run(rt: Runtime, t: ReturnType<typeof operands>['t'], per: number) {
  const scaling = 2;
  for (const [t0, n] of blocks(T, per)) {
    const x = t.x.rows(t0, n);
    const y = t.y.rows(t0, n);
    const xa = t.xa.rows(t0, n);
    linearForward(rt, x, t.w, y, n, IN, OUT);
    loraForward(rt, x, t.A, t.B, xa, y, n, IN, OUT, R, scaling);
    const dy = t.dy.rows(t0, n);
    const dx = t.dx.rows(t0, n);
    linearBackwardInput(rt, dy, t.w, dx, n, IN, OUT);
    loraBackward(rt, x, t.A, t.B, xa, dy, t.dA, t.dB, dx, t.ws, n, IN, OUT, R, scaling);
  }
}

async function readAll(rt: Runtime, t: ReturnType<typeof operands>['t']) {
  return {
    y: await rt.read(t.y),
    xa: await rt.read(t.xa),
    dx: await rt.read(t.dx),
    dA: await rt.read(t.dA),
    dB: await rt.read(t.dB),
  };
}

describe('row views of per-token tensors', () => {
  let capped: Runtime | null = null;
  afterAll(() => capped?.destroy(true));

  it('linear + LoRA forward and backward in 64-token blocks equal the whole launch', async () => {
    const rt = await testRuntime();
    const whole = operands(rt);
    run(rt, whole.t, T);
    const want = await readAll(rt, whole.t);
    whole.destroy();
    const split = operands(rt);
    run(rt, split.t, TB);
    const got = await readAll(rt, split.t);
    split.destroy();
    // Each row is computed alone: the same bits.
    expect(got.y).toEqual(want.y);
    expect(got.xa).toEqual(want.xa);
    expect(got.dx).toEqual(want.dx);
    // dA and dB sum over tokens: per block, then across blocks.
    expectClose('dA', got.dA, want.dA, 1e-5, 1e-5);
    expectClose('dB', got.dB, want.dB, 1e-5, 1e-5);
    expect(rt.liveTensors).toBe(0);
  });

  it('SwiGLU forward and backward over row views equal the whole launch bit for bit', async () => {
    const rt = await testRuntime();
    const rng = new Rng(5);
    const F = 24;
    const mk = (label: string) =>
      rt.tensor([T, F], 'f32', 'activations', label, rng.floats(T * F, -4, 4));
    const [gate, up, dOut] = [mk('gate'), mk('up'), mk('dOut')];
    const outs = ['act', 'dGate', 'dUp', 'act b', 'dGate b', 'dUp b'].map((l) =>
      rt.tensor([T, F], 'f32', 'activations', l),
    );
    const [act, dGate, dUp, actB, dGateB, dUpB] = outs as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
    ];
    swigluForward(rt, gate, up, act, T * F);
    swigluBackward(rt, gate, up, dOut, dGate, dUp, T * F);
    for (const [t0, n] of blocks(T, TB)) {
      const v = (x: Tensor) => x.rows(t0, n);
      swigluForward(rt, v(gate), v(up), v(actB), n * F);
      swigluBackward(rt, v(gate), v(up), v(dOut), v(dGateB), v(dUpB), n * F);
    }
    expect(await rt.read(actB)).toEqual(await rt.read(act));
    expect(await rt.read(dGateB)).toEqual(await rt.read(dGate));
    expect(await rt.read(dUpB)).toEqual(await rt.read(dUp));
    [gate, up, dOut, ...outs].forEach((x) => x.destroy());
    expect(rt.liveTensors).toBe(0);
  });

  it('under a binding cap smaller than the tensors, the blocked launches run and the whole one is refused', async () => {
    const full = await testRuntime();
    const ref = operands(full);
    run(full, ref.t, TB);
    const want = await readAll(full, ref.t);
    ref.destroy();

    capped ??= await cappedRuntime(CAPS);
    const rt = capped;
    const { t, destroy } = operands(rt);
    expect(() => linearForward(rt, t.x, t.w, t.y, T, IN, OUT)).toThrow(TooLargeError);
    expect(() => linearForward(rt, t.x, t.w, t.y, T, IN, OUT)).toThrow(
      /\[Buffer x\] binds 51200 bytes/,
    );
    run(rt, t, TB);
    const got = await readAll(rt, t);
    expectClose('y', got.y, want.y, 0, 0);
    expectClose('dx', got.dx, want.dx, 0, 0);
    expectClose('dA', got.dA, want.dA, 0, 0);
    expectClose('dB', got.dB, want.dB, 0, 0);
    destroy();
    expect(rt.liveTensors).toBe(0);
  });

  it('refuses a view off the offset alignment, past the tensor, or outside its rows', async () => {
    const rt = await testRuntime();
    const x = rt.tensor([T, IN], 'f32', 'activations', 'x');
    const w = rt.tensor([OUT, IN], 'f32', 'weights', 'w');
    const y = rt.tensor([T, OUT], 'f32', 'activations', 'y');
    // One row of 64 f32 is 256 bytes: row 1 is aligned; a 4-byte offset is not.
    expect(x.rows(1, 2)).toEqual({ tensor: x, offset: 256, size: 512 });
    expect(x.rows(0, T)).toBe(x);
    const odd = { tensor: x, offset: 4, size: 256 };
    expect(() => linearForward(rt, odd, w, y, 1, IN, OUT)).toThrow(
      /\[Buffer x\] view offset 4 is not a multiple of/,
    );
    const past = { tensor: x, offset: 256, size: T * IN * 4 };
    expect(() => linearForward(rt, past, w, y, 1, IN, OUT)).toThrow(/outside its 51200 bytes/);
    expect(() => x.rows(T - 1, 2)).toThrow(InternalError);
    expect(() => x.rows(0, 0)).toThrow(InternalError);
    const h = rt.tensor([4, 3], 'bf16', 'weights', 'h');
    expect(() => h.rows(0, 2)).toThrow(/32-bit rows/);
    [x, w, y, h].forEach((t) => t.destroy());
    await rt.sync();
  });

  it('stores a per-token tensor past maxBufferSize in parts, one tensor to write, read, zero and copy', async () => {
    // [200, 64] f32 (51200 bytes) under 16 KiB buffers: 4 parts of 64 rows (the last of 8 rows).
    const rt = await cappedRuntime({ maxBufferSize: 16384, maxStorageBufferBindingSize: 16384 });
    try {
      expect(partRows(IN * 4, 16384)).toBe(64);
      expect(partRows(IN * 4, 300 * IN * 4)).toBe(256);
      expect(partRows(IN * 4, 63 * IN * 4)).toBe(0);
      const rng = new Rng(3);
      const values = rng.floats(T * IN, -1, 1);
      const x = rt.rowsTensor([T, IN], 'f32', 'activations', 'x');
      expect(x.parts.length).toBe(4);
      expect(x.partBytes).toBe(64 * IN * 4);
      expect(x.bytes).toBe(T * IN * 4);
      expect(rt.memory.snapshot().current.activations).toBeGreaterThanOrEqual(T * IN * 4);
      rt.write(x, values);
      expect(await rt.read(x)).toEqual(values);
      // A range across a part boundary reads back as one.
      const mid = new Float32Array(await rt.readBytes(x, 60 * IN * 4, 10 * IN * 4));
      expect(mid).toEqual(values.subarray(60 * IN, 70 * IN));
      // A copy from and into parts at offsets that cross boundaries on both sides.
      const y = rt.rowsTensor([T, IN], 'f32', 'activations', 'y');
      rt.zero(y);
      rt.copy(x, y, 100 * IN * 4, 30 * IN * 4, 90 * IN * 4);
      const want = new Float32Array(T * IN);
      want.set(values.subarray(30 * IN, 130 * IN), 90 * IN);
      expect(await rt.read(y)).toEqual(want);
      // A kernel over views inside one part each runs; whole or boundary-crossing bindings do not.
      const w = rt.tensor([IN, IN], 'f32', 'weights', 'w', rng.floats(IN * IN, -0.3, 0.3));
      for (const [t0, n] of blocks(T, TB))
        linearForward(rt, x.rows(t0, n), w, y.rows(t0, n), n, IN, IN);
      const byRows = await rt.read(y);
      const full = await testRuntime();
      const [fx, fw, fy] = [
        full.tensor([T, IN], 'f32', 'activations', 'fx', values),
        full.tensor([IN, IN], 'f32', 'weights', 'fw', await rt.read(w)),
        full.tensor([T, IN], 'f32', 'activations', 'fy'),
      ];
      linearForward(full, fx, fw, fy, T, IN, IN);
      expect(byRows).toEqual(await full.read(fy));
      [fx, fw, fy].forEach((t) => t.destroy());
      expect(() => linearForward(rt, x.rows(32, 64), w, y.rows(0, 64), 64, IN, IN)).toThrow(
        /\[Buffer x\] view 8192\+16384 crosses a boundary of its 16384-byte buffers/,
      );
      expect(() => linearForward(rt, x.rows(0, T), w, y.rows(0, 64), 64, IN, IN)).toThrow(
        /crosses a boundary/,
      );
      expect(() => x.buffer).toThrow(/stored in 4 buffers of 16384 bytes/);
      // A tensor within the limit stays one buffer; a row wider than 64 rows allow is refused.
      const small = rt.rowsTensor([64, IN], 'f32', 'activations', 'small');
      expect(small.parts.length).toBe(1);
      expect(() => rt.rowsTensor([T, 128], 'f32', 'activations', 'wide')).toThrow(TooLargeError);
      [x, y, w, small].forEach((t) => t.destroy());
      expect(rt.liveTensors).toBe(0);
      expect(rt.memory.snapshot().current.activations).toBe(0);
    } finally {
      rt.destroy(true);
    }
  });
});
