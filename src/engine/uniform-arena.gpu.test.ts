import { describe, expect, it } from 'vitest';
import { testRuntime } from '../test/gpu.ts';
import { emptyHostProfile, type Runtime, type Tensor } from './runtime.ts';

const N = 64;

/** y = a·x + b over the first n values; a, b and n from the Params. */
const AFFINE = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct Params { a: f32, b: f32, n: u32, pad: u32 }
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < p.n) { y[g.x] = x[g.x] * p.a + p.b; }
}
`;

let registered = false;
async function affineRuntime(): Promise<Runtime> {
  const rt = await testRuntime();
  if (!registered) rt.registerShader('test.uniform-arena.affine', AFFINE);
  registered = true;
  return rt;
}

function params(a: number, b: number): ArrayBuffer {
  const buf = new ArrayBuffer(16);
  const dv = new DataView(buf);
  dv.setFloat32(0, a, true);
  dv.setFloat32(4, b, true);
  dv.setUint32(8, N, true);
  return buf;
}

function affine(rt: Runtime, x: Tensor, y: Tensor, a: number, b: number): void {
  rt.dispatch({
    shader: 'test.uniform-arena.affine',
    bindings: [x, y],
    params: params(a, b),
    workgroups: [1],
  });
}

/** A chain t[i+1] = a_i·t[i] + b_i recorded in one submit; the expected last tensor in f32. */
function chain(
  rt: Runtime,
  ts: Tensor[],
  coef: readonly (readonly [number, number])[],
  x0: Float32Array,
): Float32Array {
  const want = Float32Array.from(x0);
  coef.forEach(([a, b], i) => {
    affine(rt, ts[i]!, ts[i + 1]!, a, b);
    for (let j = 0; j < N; j++) want[j] = Math.fround(Math.fround(want[j]! * a) + b);
  });
  return want;
}

function tensors(rt: Runtime, n: number): Tensor[] {
  return Array.from({ length: n }, (_, i) => rt.tensor([N], 'f32', 'workspace', `t${i}`));
}

const COEF: [number, number][] = [
  [2, 1],
  [0.5, -3],
  [-1.5, 0.25],
  [3, 2],
  [0.75, -0.5],
];

describe('uniform arena', () => {
  it('writes a second identical recording nothing, reuses its bind groups, and reads the right Params', async () => {
    const rt = await affineRuntime();
    const ts = tensors(rt, COEF.length + 1);
    const x0 = Float32Array.from({ length: N }, (_, i) => i - 20);
    rt.write(ts[0]!, x0);
    const s0 = rt.uniformStats;
    let want = chain(rt, ts, COEF, x0);
    expect(Array.from(await rt.read(ts[COEF.length]!))).toEqual(Array.from(want));
    const s1 = rt.uniformStats;
    expect(s1.staged - s0.staged).toBe(COEF.length);
    expect(s1.bytesWritten - s0.bytesWritten).toBeGreaterThanOrEqual(16 * COEF.length);
    const groups = rt.cachedBindGroups;

    // The same recording on new input: no Params written, no group created, the same results as
    // the same Params computed afresh on the CPU.
    const x1 = Float32Array.from({ length: N }, (_, i) => 0.5 * i + 7);
    rt.write(ts[0]!, x1);
    rt.hostProfile = emptyHostProfile();
    want = chain(rt, ts, COEF, x1);
    expect(Array.from(await rt.read(ts[COEF.length]!))).toEqual(Array.from(want));
    const prof = rt.hostProfile!;
    rt.hostProfile = null;
    const s2 = rt.uniformStats;
    expect(s2.bytesWritten - s1.bytesWritten).toBe(0);
    expect(prof.uniformBytes).toBe(0);
    expect(s2.reused - s1.reused).toBe(COEF.length);
    expect(s2.staged).toBe(s1.staged);
    expect(prof.bindGroupsReused).toBe(COEF.length);
    expect(rt.cachedBindGroups).toBe(groups);

    // One Params changed (a step count, a learning rate): that slot alone is written.
    const changed = COEF.map((c, i): [number, number] => (i === 2 ? [c[0], 9] : c));
    want = chain(rt, ts, changed, x1);
    expect(Array.from(await rt.read(ts[COEF.length]!))).toEqual(Array.from(want));
    const s3 = rt.uniformStats;
    expect(s3.bytesWritten - s2.bytesWritten).toBe(16);
    expect(s3.staged - s2.staged).toBe(1);
    expect(rt.cachedBindGroups).toBe(groups + 1);
    // And back: the old slot still holds the old Params.
    want = chain(rt, ts, COEF, x1);
    expect(Array.from(await rt.read(ts[COEF.length]!))).toEqual(Array.from(want));
    expect(rt.uniformStats.bytesWritten).toBe(s3.bytesWritten);
    for (const t of ts) t.destroy();
  });

  it('starts over at a submit boundary when full and keeps every result right', async () => {
    const rt = await affineRuntime();
    const saved = rt.uniformArenaBytes;
    try {
      // Four 256-byte slots, then it starts over at the next submit.
      rt.uniformArenaBytes = 4 * rt.device.limits.minUniformBufferOffsetAlignment;
      await rt.sync();
      rt.flush();
      const coef = Array.from({ length: 12 }, (_, i): [number, number] => [
        1 + (i % 3) * 0.5,
        i - 6,
      ]);
      const ts = tensors(rt, coef.length + 1);
      const x0 = Float32Array.from({ length: N }, (_, i) => (i % 7) - 3);
      rt.write(ts[0]!, x0);
      const before = rt.uniformStats.startOvers;
      // Twelve distinct Params in one submit: the arena grows past its bound until the submit.
      let want = chain(rt, ts, coef, x0);
      expect(Array.from(await rt.read(ts[coef.length]!))).toEqual(Array.from(want));
      expect(rt.uniformStats.startOvers).toBe(before + 1);
      expect(rt.uniformStats.usedBytes).toBe(0);
      // After starting over every Params is new again and lands on slots the last submit read:
      // four fill the bound (no start over), twelve in reverse reuse those four and pass it.
      for (const [c, staged, startOvers] of [
        [coef.slice(0, 4), 4, 0],
        [coef.slice().reverse(), 8, 1],
        [coef, 12, 1],
      ] as const) {
        const s = rt.uniformStats;
        want = chain(rt, ts, c, x0);
        expect(Array.from(await rt.read(ts[c.length]!))).toEqual(Array.from(want));
        expect(rt.uniformStats.staged - s.staged).toBe(staged);
        expect(rt.uniformStats.startOvers - s.startOvers).toBe(startOvers);
      }
      // Within the bound, a repeat is answered from the slots again.
      rt.uniformArenaBytes = saved;
      for (const written of [true, false]) {
        const s = rt.uniformStats;
        want = chain(rt, ts, coef, x0);
        expect(Array.from(await rt.read(ts[coef.length]!))).toEqual(Array.from(want));
        expect(rt.uniformStats.bytesWritten > s.bytesWritten).toBe(written);
      }
      for (const t of ts) t.destroy();
    } finally {
      rt.uniformArenaBytes = saved;
    }
  });
});
