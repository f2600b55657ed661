import { describe, expect, it } from 'vitest';
import { expandIncludes } from './wgsl-include.ts';

const files: Record<string, string> = {
  a: 'fn a() {}\n// #include b\nfn main() {}',
  b: '// b header\n//   #include c  \nfn b() {}',
  c: 'fn c() {}',
  loop1: '// #include loop2',
  loop2: 'x\n// #include loop1',
  pat: '// shared\n// #params Params\nfn f() {}',
};
const load = (n: string) => {
  const s = files[n];
  if (s === undefined) throw new Error(`no shader ${n}`);
  return s;
};

describe('WGSL includes', () => {
  it('splices included files in place, recursively, and maps lines back to their files', () => {
    const ex = expandIncludes('a', files.a!, load);
    expect(ex.code).toBe('fn a() {}\n// b header\nfn c() {}\nfn b() {}\nfn main() {}');
    expect([1, 2, 3, 4, 5].map((l) => ex.origin(l))).toEqual([
      { file: 'a', line: 1 },
      { file: 'b', line: 1 },
      { file: 'c', line: 1 },
      { file: 'b', line: 3 },
      { file: 'a', line: 3 },
    ]);
  });

  it('leaves a module without includes unchanged', () => {
    const ex = expandIncludes('c', 'fn c() {}\n// include is only a word here', load);
    expect(ex.code).toBe('fn c() {}\n// include is only a word here');
    expect(ex.origin(2)).toEqual({ file: 'c', line: 2 });
  });

  it('names the file and line of an include that cannot be loaded, and refuses cycles', () => {
    expect(() => expandIncludes('x', 'ok\n// #include nope', load)).toThrow(
      'x.wgsl:2: cannot include nope: no shader nope',
    );
    expect(() => expandIncludes('loop1', files.loop1!, load)).toThrow(
      /include cycle: loop1 → loop2 → loop1/,
    );
  });

  const layout = { wgsl: (struct: string) => `struct ${struct} {\n  n: u32,\n}` };

  it('puts the layout WGSL at // #params and maps its lines to the marker, later lines to their own', () => {
    const ex = expandIncludes('k', 'a\n// #params Params\nb\n// #include c\nd', load, layout);
    expect(ex.code).toBe('a\nstruct Params {\n  n: u32,\n}\nb\nfn c() {}\nd');
    expect([1, 2, 3, 4, 5, 6, 7].map((l) => ex.origin(l))).toEqual([
      { file: 'k', line: 1 },
      { file: 'k', line: 2 },
      { file: 'k', line: 2 },
      { file: 'k', line: 2 },
      { file: 'k', line: 3 },
      { file: 'c', line: 1 },
      { file: 'k', line: 5 },
    ]);
  });

  it('splices // #params inside an included file with the includer layout', () => {
    const ex = expandIncludes('k', '// #include pat\nfn main() {}', load, layout);
    expect(ex.code).toBe('// shared\nstruct Params {\n  n: u32,\n}\nfn f() {}\nfn main() {}');
    expect(ex.origin(5)).toEqual({ file: 'pat', line: 3 });
    expect(ex.origin(6)).toEqual({ file: 'k', line: 2 });
  });

  it('fails clearly: no layout for a // #params, two of them, a layout but no // #params', () => {
    expect(() => expandIncludes('k', 'a\n// #include pat', load)).toThrow(
      "pat.wgsl:2: #params Params: no uniform layout lists shader k (add it to the shaders of its launcher's uniformLayout)",
    );
    expect(() => expandIncludes('k', '// #params Params\n// #include pat', load, layout)).toThrow(
      'pat.wgsl:2: #params Params: already spliced at k.wgsl:1',
    );
    expect(() => expandIncludes('k', 'fn main() {}', load, layout)).toThrow(
      'k.wgsl: a uniform layout lists it, but it has no // #params line',
    );
  });
});
