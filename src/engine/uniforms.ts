/**
 * One typed description per kernel's `Params` uniform. Every field is a 4-byte scalar, laid out in
 * declaration order; the WGSL struct must declare the same fields in the same order.
 */

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<K extends string> {
  readonly fields: readonly (readonly [K, ScalarType])[];
  /** Bytes, padded to 16 as uniform structs are. */
  readonly byteSize: number;
  /** Packs values into a fresh buffer. */
  pack(values: Record<K, number>): ArrayBuffer;
  /** The WGSL struct text (for documentation and tests that check the shader matches). */
  wgsl(name?: string): string;
}

/** Declares a Params layout: `uniformLayout({ M: 'u32', N: 'u32', scale: 'f32' })`. */
export function uniformLayout<K extends string>(spec: Record<K, ScalarType>): UniformLayout<K> {
  const fields = Object.entries(spec) as [K, ScalarType][];
  const byteSize = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    fields,
    byteSize,
    pack(values) {
      const buf = new ArrayBuffer(byteSize);
      const dv = new DataView(buf);
      fields.forEach(([name, type], i) => {
        const v = values[name];
        if (v === undefined || Number.isNaN(v)) throw new Error(`uniform field ${name} is missing`);
        if (type === 'f32') dv.setFloat32(i * 4, v, true);
        else if (type === 'i32') dv.setInt32(i * 4, v, true);
        else dv.setUint32(i * 4, v >>> 0, true);
      });
      return buf;
    },
    wgsl(name = 'Params') {
      return `struct ${name} {\n${fields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}`;
    },
  };
}
