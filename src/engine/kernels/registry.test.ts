import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ATTENTION,
  chooseVariant,
  CROSS_ENTROPY,
  CROSS_ENTROPY_BACKWARD,
  GRADNORM,
  ALL_KERNEL_FAMILIES,
  LORA,
  MATMUL,
  MATMUL_QUANT,
  QUANT_BLOCK,
  QUANT_WEIGHT_TYPES,
  RMSNORM,
  variantNames,
  variantRuns,
  type CrossEntropyBackwardShape,
  type KernelAdapter,
  type KernelVariant,
  type MatmulShape,
  type QuantMatmulShape,
} from './registry.ts';
import { attentionSgmatrixConfigWgsl, attentionSgmatrixTile } from './attention-sgmatrix.ts';

const names = readdirSync('shaders')
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -'.wgsl'.length));
const INCLUDE = /^\s*\/\/\s*#include\s+([\w.-]+)\s*$/gm;
const included = new Set(
  names.flatMap((n) =>
    [...readFileSync(`shaders/${n}.wgsl`, 'utf8').matchAll(INCLUDE)].map((m) => m[1]!),
  ),
);

/** The kernels with one form only (no family to choose in). */
const SINGLE = [
  'adamw.step',
  'add.forward',
  'add.inplace',
  'add.scale',
  'attention.backward_prep',
  'attention.merge',
  'bias.add',
  'checkpoint16.pack',
  'checkpoint16.unpack',
  'embedding.backward',
  'embedding.forward',
  // The quantized lookups: one per type, each the type's decoder and embedding_quant's body.
  ...QUANT_WEIGHT_TYPES.map((t) => `embedding.forward_${t.toLowerCase()}`),
  'gradnorm.reduce',
  'rmsnorm.backward_dw',
  'rmsnorm.backward_dw_reduce',
  'rope.rotate',
  'rope.rotate_qk',
  'swiglu.backward',
  'swiglu.forward',
];

const variantsOf = (f: (typeof ALL_KERNEL_FAMILIES)[number]) =>
  Object.values(f.variants) as KernelVariant<unknown>[];

const noMatrices = { subgroupMatrix: false, subgroupMatrixConfigs: [] };
const software: KernelAdapter = {
  isSoftware: true,
  features: {
    shaderF16: false,
    subgroups: true,
    timestampQuery: false,
    subgroupSize: 4,
    subgroupMaxSize: 4,
    ...noMatrices,
  },
};
const softwareNoSubgroups: KernelAdapter = {
  ...software,
  features: { ...software.features, subgroups: false, subgroupSize: 0, subgroupMaxSize: 0 },
};
const gpu: KernelAdapter = {
  isSoftware: false,
  features: {
    shaderF16: true,
    subgroups: true,
    timestampQuery: true,
    subgroupSize: 0,
    subgroupMaxSize: 32,
    ...noMatrices,
  },
};
const gpuNoSubgroups: KernelAdapter = {
  ...gpu,
  features: { ...gpu.features, subgroups: false, subgroupMaxSize: 0 },
};
const ADAPTERS = { software, softwareNoSubgroups, gpu, gpuNoSubgroups };

describe('the kernel registry', () => {
  it('names equal file names: every variant runs <prefix>.<op>_<variant> (matmul: matmul.<variant>), or another variant’s own file for an op', () => {
    for (const f of ALL_KERNEL_FAMILIES) {
      const own = (op: string, name: string) =>
        op ? `${f.prefix}.${op}_${name}` : `${f.prefix}.${name}`;
      const entries = Object.entries(f.variants) as [string, KernelVariant<unknown>][];
      for (const [name, v] of entries) {
        expect(v.name).toBe(name);
        expect(Object.keys(v.files)).toEqual([...f.ops]);
        for (const op of f.ops) {
          const file = v.files[op]!;
          // Shared: attention's sgmatrix variants run fa2's backward kernels.
          const owners = entries.filter(([n, w]) => w.files[op] === own(op, n)).map(([n]) => n);
          expect(file === own(op, name) || owners.some((n) => file === own(op, n)), file).toBe(
            true,
          );
          expect(names, file).toContain(file);
          expect(included.has(file), `${file} is an include-only body`).toBe(false);
        }
      }
    }
  });

  it('every kernel file is a variant of one family or a single kernel; include-only bodies have no family prefix', () => {
    // A file may serve several variants (a shared op), but each is some variant's own file.
    const registered = [
      ...new Set(
        ALL_KERNEL_FAMILIES.flatMap((f) => variantsOf(f).flatMap((v) => Object.values(v.files))),
      ),
    ];
    const kernels = names.filter((n) => !included.has(n));
    expect([...registered, ...SINGLE].sort()).toEqual(kernels.sort());
    for (const n of included) expect(n === 'attention.pattern' || !n.includes('.'), n).toBe(true);
  });

  it('the direct8 matmul is the direct kernel with 8 rows per lane: one body, two files', () => {
    const body = readFileSync('shaders/matmul_direct.wgsl', 'utf8');
    expect(body).toContain('@compute');
    expect(body).not.toMatch(/ROWS8\s*[:=]/);
    for (const [file, rows8] of [
      ['matmul.direct', false],
      ['matmul.direct8', true],
    ] as const) {
      const src = readFileSync(`shaders/${file}.wgsl`, 'utf8');
      expect(src).toContain(`const ROWS8 = ${rows8};`);
      expect([...src.matchAll(INCLUDE)].map((m) => m[1])).toEqual(['matmul_direct']);
      expect(src).not.toContain('@compute');
    }
  });

  it('every family’s default runs on the adapter it was picked for', () => {
    const shapes: Record<string, unknown[]> = {
      matmul: matmulShapes(),
      attention: [4, 6, 32, 64, 68, 80, 128].map((hd) => ({ hd })),
      'cross_entropy.backward': ceBackShapes(),
      'matmul.quant': quantShapes(),
    };
    for (const f of ALL_KERNEL_FAMILIES) {
      for (const a of Object.values(ADAPTERS)) {
        for (const s of shapes[f.family] ?? [{}]) {
          const pick = (f.pick as (a: KernelAdapter, s: unknown) => string)(a, s);
          const v = (f.variants as Record<string, KernelVariant<unknown>>)[pick]!;
          expect(variantRuns(v, a, s), `${f.family} ${pick} ${JSON.stringify(s)}`).toBe(true);
        }
      }
    }
  });

  it('matmul: the same defaults, support and tuning candidates as before the registry', () => {
    for (const [an, a] of Object.entries(ADAPTERS)) {
      for (const s of matmulShapes()) {
        const at = `${an} ${JSON.stringify(s)}`;
        expect(MATMUL.pick(a, s), at).toBe(oldDefaultVariant(a, s));
        for (const v of OLD_MATMUL)
          expect(variantRuns(MATMUL.variants[v], a, s), `${v} ${at}`).toBe(oldSupported(a, v, s));
      }
    }
    for (const M of [1, 2, 4, 5, 8, 64, 300]) {
      const timed = variantNames(MATMUL).filter((v) => MATMUL.variants[v].timed(M));
      expect(timed).toEqual(
        ['tiled', 'regblock', 'direct', 'direct8', 'quad8', 'subgroup', 'half', 'sgmatrix'].filter(
          (v) =>
            M <= 4 ? !['direct8', 'quad8', 'half', 'sgmatrix'].includes(v) : v !== 'subgroup',
        ),
      );
    }
  });

  it('matmul launch constants and tiles as runLinear set them before the registry', () => {
    const s = (op: MatmulShape['op'], dtype: MatmulShape['dtype'], M: number, N = 64, K = 64) => ({
      op,
      dtype,
      M,
      N,
      K,
    });
    const L = (v: keyof typeof MATMUL.variants, sh: MatmulShape, quadBroadcast = false) =>
      MATMUL.variants[v].launch(software, sh, { quadBroadcast });
    expect(L('naive', s('forward', 'f32', 7))).toEqual({
      constants: { WDT: 0, B_NN: 0 },
      tile: [16, 16],
    });
    expect(L('regblock', s('backwardInput', 'bf16', 7))).toEqual({
      constants: { WDT: 1, B_NN: 1 },
      tile: [64, 64],
    });
    expect(L('direct', s('forward', 'f32', 1))).toEqual({
      constants: { WDT: 0, B_NN: 0, WG_X: 64, WG_Y: 1, ONE_ROW: 1 },
      tile: [256, 4],
    });
    expect(L('direct', s('forward', 'f16', 4))).toEqual({
      constants: { WDT: 2, B_NN: 0, WG_X: 64, WG_Y: 1, ONE_ROW: 0, FULL: 1 },
      tile: [256, 4],
    });
    expect(L('direct', s('backwardInput', 'f32', 8))).toEqual({
      constants: { WDT: 0, B_NN: 1 },
      tile: [32, 32],
    });
    expect(L('direct8', s('forward', 'f32', 16))).toEqual({
      constants: { WDT: 0, B_NN: 0, FULL: 1 },
      tile: [32, 64],
    });
    expect(L('direct8', s('forward', 'f32', 12))).toEqual({
      constants: { WDT: 0, B_NN: 0 },
      tile: [32, 64],
    });
    expect(L('quad8', s('backwardInput', 'bf16', 16))).toEqual({
      constants: { WDT: 1, B_NN: 1, COLS8: 1, WG_X: 8, SG4: 1 },
      tile: [64, 8],
    });
    expect(L('quad8', s('forward', 'f32', 16), true)).toEqual({
      constants: { WDT: 0, B_NN: 0 },
      tile: [64, 8],
    });
    expect(L('subgroup', s('forward', 'f32', 2))).toEqual({
      constants: { WDT: 0, B_NN: 0 },
      tile: [4, 4],
    });
  });

  it('cross-entropy backward: the same kernel as backKernel chose before the registry', () => {
    for (const [an, a] of Object.entries(ADAPTERS)) {
      for (const s of ceBackShapes()) {
        expect(CROSS_ENTROPY_BACKWARD.pick(a, s), `${an} ${JSON.stringify(s)}`).toBe(
          oldBackKernel(a, s),
        );
      }
    }
  });

  it('the adapter-only families: direct (rows, serial) on software adapters, tiled (workgroup, tree) on GPUs', () => {
    for (const a of [software, softwareNoSubgroups]) {
      expect([CROSS_ENTROPY, LORA, RMSNORM, GRADNORM].map((f) => f.pick(a))).toEqual([
        'direct',
        'direct',
        'rows',
        'serial',
      ]);
      expect(ATTENTION.pick(a, { hd: 64 })).toBe('direct');
      expect(ATTENTION.pick(a, { hd: 80 })).toBe('tiled');
      expect(ATTENTION.pick(a, { hd: 6 })).toBe('tiled');
    }
    for (const a of [gpu, gpuNoSubgroups]) {
      expect([CROSS_ENTROPY, LORA, RMSNORM, GRADNORM].map((f) => f.pick(a))).toEqual([
        'tiled',
        'tiled',
        'workgroup',
        'tree',
      ]);
      expect(ATTENTION.pick(a, { hd: 64 })).toBe('fa2');
      expect(ATTENTION.pick(a, { hd: 128 })).toBe('fa2');
      expect(ATTENTION.pick(a, { hd: 6 })).toBe('tiled');
    }
  });

  it('a forced variant is checked: unknown or unsupported ones are refused with what they need', () => {
    const s: MatmulShape = { op: 'forward', dtype: 'f32', M: 8, N: 16, K: 4 };
    expect(chooseVariant(MATMUL, software, s, 'direct')).toBe('direct');
    expect(() => chooseVariant(MATMUL, softwareNoSubgroups, s, 'quad8')).toThrow(
      /matmul quad8 cannot run .* \(it needs subgroups, K % 16 == 0/,
    );
    expect(() => chooseVariant(MATMUL, gpuNoSubgroups, s, 'subgroup')).toThrow(/subgroup/);
    expect(() => chooseVariant(ATTENTION, software, { hd: 68 }, 'direct')).toThrow(
      /head_dim % 4 == 0 and <= 64/,
    );
    // fa2 runs on software adapters when forced (the tests do), but refuses head sizes it cannot stage.
    expect(chooseVariant(ATTENTION, software, { hd: 128 }, 'fa2')).toBe('fa2');
    expect(() => chooseVariant(ATTENTION, gpu, { hd: 6 }, 'fa2')).toThrow(
      /attention fa2 cannot run .* \(it needs head_dim % 4 == 0 and <= 128\)/,
    );
    expect(() => chooseVariant(LORA, software, {}, 'wide' as keyof typeof LORA.variants)).toThrow(
      /lora: unknown variant 'wide'/,
    );
    expect(chooseVariant(RMSNORM, gpu, {}, 'rows')).toBe('rows');
  });

  it('matmul.quant: each variant runs only its own type, on whole blocks of the quantized dimension', () => {
    type V = keyof typeof MATMUL_QUANT.variants;
    const s = (
      op: QuantMatmulShape['op'],
      quant: QuantMatmulShape['quant'],
      N: number,
      K: number,
      M = 3,
    ) => ({ op, quant, M, N, K }) as QuantMatmulShape;
    expect(variantNames(MATMUL_QUANT)).toHaveLength(3 * QUANT_WEIGHT_TYPES.length);
    for (const q of QUANT_WEIGHT_TYPES) {
      const b = QUANT_BLOCK[q];
      const other = q === 'Q8_0' ? 'Q4_0' : 'Q8_0';
      const base = q.toLowerCase();
      for (const form of ['direct', 'rows8', 'quad'] as const) {
        const name = (form === 'direct' ? base : `${base}_${form}`) as V;
        const spec = MATMUL_QUANT.variants[name];
        expect([spec.name, spec.quant, spec.form]).toEqual([name, q, form]);
        const r = (sh: QuantMatmulShape) => variantRuns(spec, software, sh);
        expect(r(s('forward', q, 5, 2 * b))).toBe(true);
        expect(r(s('forward', q, 5, b + 16))).toBe(false);
        expect(r(s('backwardInput', q, 3 * b, 5))).toBe(true);
        expect(r(s('backwardInput', q, 5, 3 * b))).toBe(false);
        expect(r(s('forward', other, 5, 256))).toBe(false);
        expect(spec.requires).toContain(`${q} weight whose rows are whole blocks of ${b}`);
        // The quad kernels need subgroups; tuning times the 8-row kernels above 4 rows only.
        expect(variantRuns(spec, softwareNoSubgroups, s('forward', q, 5, b))).toBe(form !== 'quad');
        expect([spec.timed(1), spec.timed(4), spec.timed(64)]).toEqual(
          form === 'direct' ? [true, true, true] : [false, false, true],
        );
      }
      expect(MATMUL_QUANT.pick(gpu, s('forward', q, 5, b, 64))).toBe(base);
      expect(MATMUL_QUANT.pick(software, s('forward', q, 5, b, 4))).toBe(base);
      expect(MATMUL_QUANT.pick(software, s('backwardInput', q, b, 5, 64))).toBe(`${base}_quad`);
      expect(MATMUL_QUANT.pick(softwareNoSubgroups, s('forward', q, 5, b, 64))).toBe(
        `${base}_rows8`,
      );
    }
    // Launch constants and tiles: lanes of 4 columns forward, 8 in the input gradient.
    const direct = MATMUL_QUANT.variants.q4_k;
    expect(direct.launch(software, s('forward', 'Q4_K', 5, 256, 1))).toEqual({
      constants: { WG_X: 64, WG_Y: 1, ONE_ROW: 1 },
      tile: [256, 4],
    });
    expect(direct.launch(software, s('backwardInput', 'Q4_K', 256, 5, 3))).toEqual({
      constants: { WG_X: 64, WG_Y: 1, ONE_ROW: 0 },
      tile: [512, 4],
    });
    expect(direct.launch(software, s('forward', 'Q4_K', 5, 256, 64)).tile).toEqual([32, 32]);
    const rows8 = MATMUL_QUANT.variants.q4_k_rows8;
    expect(rows8.launch(software, s('backwardInput', 'Q4_K', 256, 5, 64)).tile).toEqual([64, 64]);
    const quad = MATMUL_QUANT.variants.q6_k_quad;
    expect(quad.launch(software, s('forward', 'Q6_K', 5, 256, 64))).toEqual({
      constants: { SG4: 1 },
      tile: [64, 8],
    });
    expect(quad.launch(gpu, s('backwardInput', 'Q6_K', 256, 5, 64))).toEqual({
      constants: {},
      tile: [128, 8],
    });
    expect(() =>
      chooseVariant(MATMUL_QUANT, software, s('forward', 'Q8_0', 5, 64), 'q4_k'),
    ).toThrow(/q4_k cannot run/);
    expect(() =>
      chooseVariant(MATMUL_QUANT, softwareNoSubgroups, s('forward', 'Q8_0', 5, 64), 'q8_0_quad'),
    ).toThrow(/q8_0_quad cannot run .* \(it needs subgroups, a Q8_0 weight/);
  });

  it('attention sgmatrix: only with subgroup matrices in an f32 configuration dividing 16, head_dim <= 64; its emulation never a default', () => {
    const cfg = (componentType: string, M: number, N = M, K = M) => ({
      componentType,
      resultComponentType: 'f32',
      M,
      N,
      K,
    });
    const withConfigs = (configs: ReturnType<typeof cfg>[]): KernelAdapter => ({
      ...gpu,
      features: { ...gpu.features, subgroupMatrix: true, subgroupMatrixConfigs: configs },
    });
    const sg = ATTENTION.variants.sgmatrix;
    const emu = ATTENTION.variants.sgmatrix_emu;
    for (const hd of [4, 32, 64]) {
      expect(variantRuns(sg, withConfigs([cfg('f32', 8)]), { hd })).toBe(true);
      expect(variantRuns(sg, withConfigs([cfg('f16', 16), cfg('f32', 16, 16, 8)]), { hd })).toBe(
        true,
      );
      for (const a of Object.values(ADAPTERS)) {
        expect(variantRuns(sg, a, { hd })).toBe(false);
        expect(variantRuns(emu, a, { hd })).toBe(true);
        expect(ATTENTION.pick(a, { hd })).not.toMatch(/sgmatrix/);
      }
    }
    // f16 operands, a dimension that does not divide 16, no subgroups, or a head size past 64.
    expect(variantRuns(sg, withConfigs([cfg('f16', 8)]), { hd: 64 })).toBe(false);
    expect(variantRuns(sg, withConfigs([cfg('f32', 32)]), { hd: 64 })).toBe(false);
    expect(variantRuns(sg, withConfigs([cfg('f32', 8, 8, 12)]), { hd: 64 })).toBe(false);
    const noSg = withConfigs([cfg('f32', 8)]);
    expect(
      variantRuns(sg, { ...noSg, features: { ...noSg.features, subgroups: false } }, { hd: 64 }),
    ).toBe(false);
    for (const hd of [6, 68, 128]) {
      expect(variantRuns(sg, withConfigs([cfg('f32', 8)]), { hd })).toBe(false);
      expect(variantRuns(emu, software, { hd })).toBe(false);
    }
    expect(sg.requires).toMatch(/never compiled/);
    expect(emu.emulates).toBe('sgmatrix');
    // The launcher's configuration declares what the default include does, with its sizes.
    const decls = (src: string) => [...src.matchAll(/^(?:const|alias) (\w+)/gm)].map((m) => m[1]);
    const written = attentionSgmatrixConfigWgsl({ config: cfg('f32', 16, 16, 8), lanes: 32 });
    expect(decls(written)).toEqual(
      decls(readFileSync('shaders/attention_sgmatrix_config.wgsl', 'utf8')),
    );
    expect(written).toContain('const SM_K: u32 = 8u;');
    expect(attentionSgmatrixTile(withConfigs([cfg('f32', 32), cfg('f32', 8)]))?.config.M).toBe(8);
    // Their backward is fa2's kernels.
    for (const v of [sg, emu]) {
      expect(v.files.backward_dq).toBe(ATTENTION.variants.fa2.files.backward_dq);
      expect(v.files.backward_dkdv).toBe(ATTENTION.variants.fa2.files.backward_dkdv);
    }
  });
});

/** Quantized launches whose quantized dimension is whole blocks (what the launchers allow). */
function quantShapes(): QuantMatmulShape[] {
  const out: QuantMatmulShape[] = [];
  for (const [quant, block] of Object.entries(QUANT_BLOCK) as [QuantMatmulShape['quant'], number][])
    for (const M of [1, 5, 64])
      for (const [N, K] of [
        [9, block],
        [block * 3, 7],
      ])
        out.push(
          { op: 'forward', quant, M, N: N!, K: K! },
          { op: 'backwardInput', quant, M, N: K!, K: N! },
        );
  return out.filter((s) => (s.op === 'forward' ? s.K : s.N) % QUANT_BLOCK[s.quant] === 0);
}

function matmulShapes(): MatmulShape[] {
  const out: MatmulShape[] = [];
  for (const op of ['forward', 'backwardInput'] as const)
    for (const dtype of ['f32', 'bf16', 'f16'] as const)
      for (const M of [0, 1, 2, 4, 5, 64, 257])
        for (const N of [0, 4, 8, 12, 16, 17, 576])
          for (const K of [4, 8, 16, 19, 48, 576]) out.push({ op, dtype, M, N, K });
  return out;
}

function ceBackShapes(): CrossEntropyBackwardShape[] {
  const out: CrossEntropyBackwardShape[] = [];
  for (const product of ['dhidden', 'dweight'] as const)
    for (const dtype of ['f32', 'bf16'] as const)
      for (const forward of ['tiled', 'direct'] as const)
        for (const scalar of [false, true])
          for (const [D, V, row0, rows] of [
            [16, 100, 0, 100],
            [19, 53, 0, 53],
            [24, 44, 0, 44],
            [64, 96, 32, 64],
            [64, 98, 32, 66],
            [64, 96, 30, 66],
          ] as const)
            out.push({ product, dtype, D, V, row0, rows, forward, scalar });
  return out;
}

/** The matmul variants from before the registry (the f16 and subgroup-matrix ones came after). */
const OLD_MATMUL = [
  'naive',
  'tiled',
  'regblock',
  'direct',
  'direct8',
  'quad8',
  'subgroup',
] as const;

// The rules as matmul.ts and cross_entropy.ts wrote them before the registry.
function oldSupported(a: KernelAdapter, v: string, s: MatmulShape): boolean {
  if (v === 'subgroup') return a.features.subgroups;
  if (v === 'naive' || v === 'tiled') return true;
  if (v === 'quad8' && !a.features.subgroups) return false;
  const wContig = s.op === 'forward' ? s.K : s.N;
  const per16 = s.dtype === 'f32' ? 4 : 8;
  return s.K % (v === 'quad8' ? 16 : 4) === 0 && wContig % per16 === 0 && s.M * s.N > 0;
}

function oldDefaultVariant(a: KernelAdapter, s: MatmulShape): string {
  const aligned = oldSupported(a, 'direct', s);
  if (a.isSoftware) return aligned ? 'direct' : 'naive';
  if (s.M <= 4 && oldSupported(a, 'subgroup', s)) return 'subgroup';
  return aligned ? 'regblock' : 'tiled';
}

function oldBackKernel(a: KernelAdapter, s: CrossEntropyBackwardShape): string {
  const direct = s.forward === 'direct';
  const own = s.scalar;
  const wide =
    s.product === 'dhidden'
      ? direct && !own && s.dtype === 'f32' && s.D % 4 === 0
      : direct && !own && [s.D, s.V, s.row0, s.rows].every((x) => x % 4 === 0);
  if (wide) return a.features.subgroups ? 'quad' : 'direct8';
  return direct ? 'direct' : 'tiled';
}
