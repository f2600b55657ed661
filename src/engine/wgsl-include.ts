/**
 * `// #include NAME` lines in WGSL. WGSL has no includes, so the loader splices shaders/NAME.wgsl in
 * place (recursively; a cycle is an error) and keeps a map from the expanded module's lines back to
 * (file, line), so compiler messages still point into the file a person edits.
 */

/** A module after include expansion. */
export interface ExpandedWgsl {
  code: string;
  /** The source file (shader name) and 1-based line of the expanded module's 1-based line. */
  origin(line: number): { file: string; line: number };
}

const INCLUDE = /^\s*\/\/\s*#include\s+([\w.-]+)\s*$/;

/** Expands the includes of shader `name` (source `source`), loading others with `load`. */
export function expandIncludes(
  name: string,
  source: string,
  load: (name: string) => string,
): ExpandedWgsl {
  const lines: string[] = [];
  const files: string[] = [];
  const nums: number[] = [];
  const active: string[] = [];
  const walk = (file: string, text: string): void => {
    if (active.includes(file)) {
      throw new Error(`WGSL include cycle: ${[...active, file].join(' → ')}`);
    }
    active.push(file);
    text.split('\n').forEach((line, i) => {
      const inc = INCLUDE.exec(line)?.[1];
      if (inc === undefined) {
        lines.push(line);
        files.push(file);
        nums.push(i + 1);
        return;
      }
      let body: string;
      try {
        body = load(inc);
      } catch (e) {
        throw new Error(`${file}.wgsl:${i + 1}: cannot include ${inc}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      walk(inc, body);
    });
    active.pop();
  };
  walk(name, source);
  return {
    code: lines.join('\n'),
    origin: (line) => ({ file: files[line - 1] ?? name, line: nums[line - 1] ?? line }),
  };
}
