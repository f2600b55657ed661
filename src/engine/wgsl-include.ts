/**
 * `// #include NAME` and `// #params STRUCT` lines in WGSL. WGSL has no includes, so the loader
 * splices shaders/NAME.wgsl in place (recursively; a cycle is an error), and puts the WGSL of the
 * shader's uniform layout (src/engine/uniforms.ts) where `// #params` stands, so the Params struct is
 * declared once, in TypeScript. It keeps a map from the expanded module's lines back to (file,
 * line), so compiler messages still point into the file a person edits (the spliced struct's lines
 * map to the `// #params` line).
 */
import { shaderParams } from './uniforms.ts';
import { InternalError } from '../util/errors.ts';

/** A module after include expansion. */
export interface ExpandedWgsl {
  code: string;
  /** The source file (shader name) and 1-based line of the expanded module's 1-based line. */
  origin(line: number): { file: string; line: number };
}

const INCLUDE = /^\s*\/\/\s*#include\s+([\w.-]+)\s*$/;
const PARAMS = /^\s*\/\/\s*#params\s+(\w+)\s*$/;

/** What `// #params STRUCT` is replaced by: a uniform layout's WGSL. */
export interface ParamsSource {
  wgsl(struct: string): string;
}

/**
 * Expands shader `name` as the runtime compiles it (in the browser and in Node alike): its source
 * from `load`, includes loaded with `load`, and `// #params` filled from the uniform layout that
 * lists `name`.
 */
export function expandShader(name: string, load: (name: string) => string): ExpandedWgsl {
  return expandIncludes(name, load(name), load, shaderParams(name));
}

/**
 * Expands the includes of shader `name` (source `source`), loading others with `load`, and replaces
 * its one `// #params STRUCT` line (in it or in an included file) with `params.wgsl(STRUCT)`.
 */
export function expandIncludes(
  name: string,
  source: string,
  load: (name: string) => string,
  params?: ParamsSource,
): ExpandedWgsl {
  const lines: string[] = [];
  const files: string[] = [];
  const nums: number[] = [];
  const active: string[] = [];
  let spliced = '';
  const walk = (file: string, text: string): void => {
    if (active.includes(file)) {
      throw new InternalError(`WGSL include cycle: ${[...active, file].join(' → ')}`);
    }
    active.push(file);
    text.split('\n').forEach((line, i) => {
      const struct = PARAMS.exec(line)?.[1];
      if (struct !== undefined) {
        const at = `${file}.wgsl:${i + 1}`;
        if (!params) {
          throw new InternalError(
            `${at}: #params ${struct}: no uniform layout lists shader ${name} ` +
              `(add it to the shaders of its launcher's uniformLayout)`,
          );
        }
        if (spliced)
          throw new InternalError(`${at}: #params ${struct}: already spliced at ${spliced}`);
        spliced = at;
        for (const l of params.wgsl(struct).split('\n')) {
          lines.push(l);
          files.push(file);
          nums.push(i + 1);
        }
        return;
      }
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
        throw new InternalError(
          `${file}.wgsl:${i + 1}: cannot include ${inc}: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      walk(inc, body);
    });
    active.pop();
  };
  walk(name, source);
  if (params && !spliced) {
    throw new InternalError(
      `${name}.wgsl: a uniform layout lists it, but it has no // #params line`,
    );
  }
  return {
    code: lines.join('\n'),
    origin: (line) => ({ file: files[line - 1] ?? name, line: nums[line - 1] ?? line }),
  };
}
