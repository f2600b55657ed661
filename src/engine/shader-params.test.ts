import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadShaderFromDisk } from './node-host.ts';
import { shaderParams, shadersWithParams } from './uniforms.ts';
import { expandShader } from './wgsl-include.ts';

// Every launcher, so every uniform layout has listed its shaders (as in the app, which uses them all).
const launchers = import.meta.glob(['./kernels/*.ts', '!./kernels/*.test.ts'], { eager: true });

const names = readdirSync('shaders')
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -'.wgsl'.length));
// Include-only bodies (attention.pattern, matmul_direct, halves8, …) are not pipelines of their own.
const INCLUDE = /^\s*\/\/\s*#include\s+([\w.-]+)\s*$/gm;
const included = new Set(
  names.flatMap((n) => [...loadShaderFromDisk(n).matchAll(INCLUDE)].map((m) => m[1]!)),
);
const kernels = names.filter((n) => !included.has(n));
const READS_PARAMS = /var<uniform>\s+\w+\s*:\s*Params\s*;/;

describe('Params structs come from the launchers’ uniform layouts', () => {
  it('finds the launchers and the kernels', () => {
    expect(Object.keys(launchers).length).toBeGreaterThan(5);
    expect(kernels.length).toBeGreaterThan(30);
    for (const n of kernels)
      expect(expandShader(n, loadShaderFromDisk).code, n).toContain('@compute');
  });

  it('no shader declares a Params struct by hand', () => {
    for (const n of names) expect(loadShaderFromDisk(n), n).not.toMatch(/^\s*struct\s+Params\b/m);
  });

  it('every kernel that reads a Params uniform gets exactly its layout’s struct', () => {
    for (const n of kernels) {
      const { code } = expandShader(n, loadShaderFromDisk);
      const layout = shaderParams(n);
      if (!READS_PARAMS.test(code)) {
        expect(layout, `${n} has no Params uniform but a layout lists it`).toBeUndefined();
        continue;
      }
      expect(layout, `${n} reads Params but no uniformLayout lists it`).toBeDefined();
      expect(code.match(/\bstruct\s+Params\b/g), n).toHaveLength(1);
      expect(code, n).toContain(layout!.wgsl('Params'));
    }
  });

  it('every shader a layout lists exists and has a // #params line', () => {
    const listed = shadersWithParams();
    expect(listed.length).toBeGreaterThan(30);
    for (const n of listed) {
      expect(names, n).toContain(n);
      expect(() => expandShader(n, loadShaderFromDisk), n).not.toThrow();
    }
  });

  it('a shader with // #params that no layout lists fails with its file and line', () => {
    const load = (n: string) =>
      n === 'params_test.orphan'
        ? '// #include attention.pattern\n@compute @workgroup_size(1)\nfn main() {}'
        : loadShaderFromDisk(n);
    const line = loadShaderFromDisk('attention.pattern').split('\n').indexOf('// #params Params');
    expect(() => expandShader('params_test.orphan', load)).toThrow(
      `attention.pattern.wgsl:${line + 1}: #params Params: no uniform layout lists shader params_test.orphan`,
    );
  });
});
