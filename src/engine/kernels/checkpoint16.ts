/**
 * Launchers for the 16-bit layer-input checkpoints (LlamaModel's `checkpoint16`): f32 → IEEE
 * binary16 packed two per u32 (shaders/checkpoint16.pack.wgsl: round to nearest even, overflow to
 * ±inf, NaN kept, subnormals kept) and back to f32 exactly (shaders/checkpoint16.unpack.wgsl).
 */
import type { Binding, Runtime } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { lanes } from './elementwise.ts';

const NParams = uniformLayout(
  { n: 'u32' },
  { shaders: ['checkpoint16.pack', 'checkpoint16.unpack'] },
);

/** One lane per packed word (two elements). */
const PER_LANE = 2;

/** packed (f16, ≥ n elements) = binary16 of the n f32 values of x (overwrites ⌈n/2⌉ words). */
export function packCheckpoint16(rt: Runtime, x: Binding, packed: Binding, n: number): void {
  rt.dispatch({
    shader: 'checkpoint16.pack',
    bindings: [x, packed],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n, PER_LANE),
    label: `packCheckpoint16 ${n}`,
  });
}

/** x (f32) = the n binary16 values of packed, exactly (overwrites n elements). */
export function unpackCheckpoint16(rt: Runtime, packed: Binding, x: Binding, n: number): void {
  rt.dispatch({
    shader: 'checkpoint16.unpack',
    bindings: [packed, x],
    params: NParams.pack({ n }),
    workgroups: lanes(rt, n, PER_LANE),
    label: `unpackCheckpoint16 ${n}`,
  });
}
