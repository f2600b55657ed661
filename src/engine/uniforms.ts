/**
 * One typed description per kernel's `Params` uniform. Every field is a 4-byte scalar, laid out in
 * declaration order. The layout is the only declaration: a shader says `// #params Params` where the
 * struct belongs, and the runtime splices in the `wgsl()` text of the layout that lists that shader
 * (see shaderParams and src/engine/wgsl-include.ts).
 */
import { InternalError } from '../util/errors.ts';

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<K extends string> {
  readonly fields: readonly (readonly [K, ScalarType])[];
  /** Bytes, padded to 16 as uniform structs are. */
  readonly byteSize: number;
  /** Packs values into a fresh buffer. */
  pack(values: Record<K, number>): ArrayBuffer;
  /** The WGSL struct, then the named constants (`const NAME: u32 = Vu;`): what `// #params` becomes. */
  wgsl(name?: string): string;
}

export interface UniformLayoutOptions {
  /** The shaders (names under shaders/, without .wgsl) whose `// #params` this layout fills. */
  shaders?: readonly string[];
  /** Named u32 values of its fields, declared as WGSL constants next to the struct. */
  consts?: Readonly<Record<string, number>>;
}

const byShader = new Map<string, UniformLayout<string>>();

/**
 * Declares a Params layout: `uniformLayout({ M: 'u32', N: 'u32', scale: 'f32' }, { shaders: ['x'] })`.
 * Listing a shader makes this layout the struct spliced into it.
 */
export function uniformLayout<K extends string>(
  spec: Record<K, ScalarType>,
  opts: UniformLayoutOptions = {},
): UniformLayout<K> {
  const fields = Object.entries(spec) as [K, ScalarType][];
  const byteSize = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const consts = Object.entries(opts.consts ?? {});
  for (const [name, v] of consts) {
    if (!/^[A-Za-z_]\w*$/.test(name) || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new InternalError(`uniform constant ${name} = ${v} is not a u32 with a WGSL name`);
    }
  }
  const layout: UniformLayout<K> = {
    fields,
    byteSize,
    pack(values) {
      const buf = new ArrayBuffer(byteSize);
      const dv = new DataView(buf);
      fields.forEach(([name, type], i) => {
        const v = values[name];
        if (v === undefined || Number.isNaN(v))
          throw new InternalError(`uniform field ${name} is missing`);
        if (type === 'f32') dv.setFloat32(i * 4, v, true);
        else if (type === 'i32') dv.setInt32(i * 4, v, true);
        else dv.setUint32(i * 4, v >>> 0, true);
      });
      return buf;
    },
    wgsl(name = 'Params') {
      return [
        `struct ${name} {`,
        ...fields.map(([n, t]) => `  ${n}: ${t},`),
        '}',
        ...consts.map(([n, v]) => `const ${n}: u32 = ${v}u;`),
      ].join('\n');
    },
  };
  for (const shader of opts.shaders ?? []) {
    const had = byShader.get(shader);
    // The same declaration evaluated twice (a module reloaded) is fine; two different ones are not.
    if (had && had.wgsl() !== layout.wgsl()) {
      throw new InternalError(`shader ${shader} is listed by two different uniform layouts`);
    }
    byShader.set(shader, layout);
  }
  return layout;
}

/** The layout whose `shaders` list `shader` (undefined when none does). */
export function shaderParams(shader: string): UniformLayout<string> | undefined {
  return byShader.get(shader);
}

/** Every shader some layout lists (for the test that each is spliced). */
export function shadersWithParams(): string[] {
  return [...byShader.keys()];
}
