/**
 * Launchers for elementwise ops: SwiGLU (forward/backward), residual add, in-place add and scale.
 * Every operand may be a row view (Tensor.rows); n counts from each binding's first element.
 */
import type { Binding, Runtime } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';

const NParams = uniformLayout(
  { n: 'u32' },
  { shaders: ['swiglu.forward', 'swiglu.backward', 'add.inplace', 'add.forward'] },
);
const ScaleParams = uniformLayout({ n: 'u32', s: 'f32' }, { shaders: ['add.scale'] });
const BiasParams = uniformLayout({ T: 'u32', N: 'u32' }, { shaders: ['bias.add'] });

/**
 * A 2D grid of `count` workgroups (x fastest, at most `maxPerDim` per dimension); shaders recover
 * the linear index as y · num_workgroups.x + x and guard the tail.
 */
export function grid2d(count: number, maxPerDim = 65535): [number, number] {
  if (count <= maxPerDim) return [Math.max(count, 0), 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}

/**
 * The grid of 256-lane workgroups for one lane per `perLane` of n elements (grid2d under the
 * device's per-dimension limit): the elementwise kernels take one element per lane, the 16-bit
 * checkpoint kernels two.
 */
export function lanes(rt: Runtime, n: number, perLane = 1): [number, number] {
  return grid2d(Math.ceil(n / (256 * perLane)), rt.device.limits.maxComputeWorkgroupsPerDimension);
}

/** out = silu(gate) · up over n f32 elements. */
export function swigluForward(
  rt: Runtime,
  gate: Binding,
  up: Binding,
  out: Binding,
  n: number,
): void {
  rt.dispatch({
    shader: 'swiglu.forward',
    bindings: [gate, up, out],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n),
    label: `swigluForward ${n}`,
  });
}

/** dGate = dOut · up · silu'(gate), dUp = dOut · silu(gate) (both overwrite). */
export function swigluBackward(
  rt: Runtime,
  gate: Binding,
  up: Binding,
  dOut: Binding,
  dGate: Binding,
  dUp: Binding,
  n: number,
): void {
  rt.dispatch({
    shader: 'swiglu.backward',
    bindings: [gate, up, dOut, dGate, dUp],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n),
    label: `swigluBackward ${n}`,
  });
}

/** dst += src over n f32 elements. */
export function addInto(rt: Runtime, dst: Binding, src: Binding, n: number): void {
  rt.dispatch({
    shader: 'add.inplace',
    bindings: [src, dst],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n),
    label: `addInto ${n}`,
  });
}

/**
 * y[t, ·] += b for each of T rows of N (a projection's frozen bias, after x·Wᵀ and LoRA). Its
 * backward is the identity on dy (the bias is frozen), so there is no backward launcher.
 */
export function biasAdd(rt: Runtime, y: Binding, b: Binding, T: number, N: number): void {
  rt.dispatch({
    shader: 'bias.add',
    bindings: [b, y],
    params: BiasParams.pack({ T, N }),
    workgroups: lanes(rt, T * N),
    label: `biasAdd ${T}x${N}`,
  });
}

/** out = a + b over n f32 elements. */
export function add(rt: Runtime, a: Binding, b: Binding, out: Binding, n: number): void {
  rt.dispatch({
    shader: 'add.forward',
    bindings: [a, b, out],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n),
    label: `add ${n}`,
  });
}

/** x *= s over n f32 elements, in place. */
export function scale(rt: Runtime, x: Binding, s: number, n: number): void {
  rt.dispatch({
    shader: 'add.scale',
    bindings: [x],
    params: ScaleParams.pack({ n, s }),
    workgroups: lanes(rt, n),
    label: `scale ${n}`,
  });
}
