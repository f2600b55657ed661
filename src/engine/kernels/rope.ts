/** Launchers for rotary position embedding (rotate-half, HF Llama) and the CPU inverse frequencies. */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { grid2d } from './elementwise.ts';
import { InternalError } from '../../util/errors.ts';

const Params = uniformLayout(
  { T: 'u32', nh: 'u32', hd: 'u32', posOffset: 'u32', sign: 'f32' },
  { shaders: ['rope.rotate'] },
);
const QkParams = uniformLayout(
  { T: 'u32', nq: 'u32', nk: 'u32', hd: 'u32', posOffset: 'u32', sign: 'f32' },
  { shaders: ['rope.rotate_qk'] },
);

/** Hugging Face's "llama3" rope_scaling parameters. */
export interface Llama3RopeScaling {
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/**
 * inv_freq[i] = theta^(−2i/hd) (HF default), optionally reshaped by HF's "llama3" scaling, then
 * divided by the linear position-interpolation `factor` (1 = none). Returns hd/2 f32 values.
 */
export function ropeInvFreq(
  hd: number,
  theta: number,
  factor: number,
  llama3?: Llama3RopeScaling,
): Float32Array {
  const half = hd / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    // HF: 1 / base ** (arange(0, dim, 2).float() / dim), in f32.
    let f = 1 / Math.fround(theta ** Math.fround((2 * i) / hd));
    if (llama3) f = llama3Scale(f, llama3);
    out[i] = f / factor;
  }
  return out;
}

function llama3Scale(invFreq: number, s: Llama3RopeScaling): number {
  const old = s.original_max_position_embeddings;
  const lowFreqWavelen = old / s.low_freq_factor;
  const highFreqWavelen = old / s.high_freq_factor;
  const wavelen = (2 * Math.PI) / invFreq;
  if (wavelen < highFreqWavelen) return invFreq;
  if (wavelen > lowFreqWavelen) return invFreq / s.factor;
  const smooth = (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  return ((1 - smooth) * invFreq) / s.factor + smooth * invFreq;
}

function rotate(
  rt: Runtime,
  x: Binding,
  invFreq: Tensor,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
  sign: 1 | -1,
): void {
  if (hd % 2 !== 0) throw new InternalError(`rope: head dim ${hd} must be even`);
  const pairs = T * nh * (hd / 2);
  rt.dispatch({
    shader: 'rope.rotate',
    bindings: [invFreq, x],
    params: Params.pack({ T, nh, hd, posOffset, sign }),
    workgroups: grid2d(Math.ceil(pairs / 256), rt.device.limits.maxComputeWorkgroupsPerDimension),
    label: `rope${sign > 0 ? 'Forward' : 'Backward'} ${T}x${nh}x${hd}`,
  });
}

/** Rotates x[T, nh, hd] in place by angle (posOffset + t) · invFreq[i] (pairs i, i + hd/2). */
export function ropeForward(
  rt: Runtime,
  x: Binding,
  invFreq: Tensor,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
): void {
  rotate(rt, x, invFreq, T, nh, hd, posOffset, 1);
}

/** The backward pass: rotates the gradient dx[T, nh, hd] in place by the negated angle. */
export function ropeBackward(
  rt: Runtime,
  dx: Binding,
  invFreq: Tensor,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
): void {
  rotate(rt, dx, invFreq, T, nh, hd, posOffset, -1);
}

/**
 * ropeForward (sign 1) or ropeBackward (sign −1) of q[T, nq, hd] and k[T, nk, hd] in one launch:
 * the decoder layer's two rotations (or their gradients'), q and k different buffers.
 */
export function ropeQK(
  rt: Runtime,
  q: Binding,
  k: Binding,
  invFreq: Tensor,
  T: number,
  nq: number,
  nk: number,
  hd: number,
  posOffset: number,
  sign: 1 | -1,
): void {
  if (hd % 2 !== 0) throw new InternalError(`rope: head dim ${hd} must be even`);
  const pairs = T * (nq + nk) * (hd / 2);
  rt.dispatch({
    shader: 'rope.rotate_qk',
    bindings: [invFreq, q, k],
    params: QkParams.pack({ T, nq, nk, hd, posOffset, sign }),
    workgroups: grid2d(Math.ceil(pairs / 256), rt.device.limits.maxComputeWorkgroupsPerDimension),
    label: `rope${sign > 0 ? 'Forward' : 'Backward'}QK ${T}x(${nq}+${nk})x${hd}`,
  });
}
