import { describe, expect, it } from 'vitest';
import { expandIncludes } from './wgsl-include.ts';

const files: Record<string, string> = {
  a: 'fn a() {}\n// #include b\nfn main() {}',
  b: '// b header\n//   #include c  \nfn b() {}',
  c: 'fn c() {}',
  loop1: '// #include loop2',
  loop2: 'x\n// #include loop1',
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
});
