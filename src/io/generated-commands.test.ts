/**
 * The commands the studio and the CLI write for people to paste — the adapter README's shell and
 * Python blocks, cluster/run.sh and cluster/README.md — parse in bash (`bash -n`) and in Python, and
 * hand over the base model's name as itself, for names with spaces, parentheses, quotes and `$`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyConfigJson, TINY_MODELS } from '../test/fixtures.ts';
import { pythonString, shellQuote } from '../util/shell.ts';
import { buildClusterFiles, type ClusterRun } from './cluster.ts';
import { parseHfConfig } from './config.ts';
import { buildAdapterFiles } from './peft.ts';

/** Names a model may have (the demo's among them) that a shell or Python would misread unquoted. */
const NAMES = [
  'stories260K (demo)',
  'org/tiny-llama',
  "my model's copy",
  'say "hi" $HOME `id` $(id) ${X}',
  'a;b|c&d>e<f *?[x] ~ # !',
  'back\\slash\ttab',
  'line\nbreak',
  '',
];

const dir = mkdtempSync(join(tmpdir(), 'longlora-commands-'));
let n = 0;

/** Writes `text` to a fresh file and returns its path. */
function file(text: string, ext: string): string {
  const p = join(dir, `script-${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

/** `bash -n`: parses the script without running it; throws with bash's message when it does not parse. */
function bashParses(script: string): void {
  execFileSync('bash', ['-n', file(script, 'sh')], { stdio: 'pipe' });
}

/** The fenced code blocks of a Markdown text in one of `langs`. */
function blocks(markdown: string, langs: string[]): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm))
    if (langs.includes(m[1]!)) out.push(m[2]!);
  return out;
}

/**
 * Runs a shell block with `python` and `torchrun` replaced by a function that prints its arguments
 * (NUL-separated, one call per line of output): what each command would receive.
 */
function argumentsOf(script: string): string[][] {
  const stub = `python() { printf '%s\\0' "$@"; printf '\\n'; }\ntorchrun() { :; }\n`;
  // In the scratch folder: a misquoted name could redirect to a file.
  const out = execFileSync('bash', [file(stub + script, 'sh')], { cwd: dir, encoding: 'utf8' });
  return out
    .split('\0\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\0'));
}

function adapterReadme(baseModel: string): string {
  const configJson = tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!);
  const files = buildAdapterFiles({
    config: parseHfConfig(configJson),
    baseModel,
    r: 8,
    alpha: 16,
    targets: ['q_proj', 'v_proj'],
    lora: [],
    trained: [],
    ropeFactor: 4,
    ropeScaling: { type: 'linear', factor: 4 },
    contextLength: 256,
  });
  return new TextDecoder().decode(files['README.md']);
}

const RUN: ClusterRun = {
  baseModel: 'org/tiny',
  context: 256,
  attention: 's2',
  trainable: ['embed', 'norm'],
  lr: 2e-5,
  warmup: 20,
  schedule: 'constant',
  steps: 1000,
  gradAccum: 8,
  weightDecay: 0,
};

describe('shellQuote and pythonString', () => {
  it('give back every name exactly, through bash and through Python', () => {
    const words = NAMES.map(shellQuote).join(' ');
    expect(argumentsOf(`python ${words}`)).toEqual([NAMES]);
    const py = `import json, sys\njson.dump([${NAMES.map(pythonString).join(', ')}], sys.stdout)`;
    expect(JSON.parse(execFileSync('python3', [file(py, 'py')], { encoding: 'utf8' }))).toEqual(
      NAMES,
    );
  });

  it('leave plain words (paths, numbers, Hugging Face ids) as they are', () => {
    for (const w of ['org/tiny-llama', './merged', '8192', '2e-5', 'a_b.c:d,e=f@g%h+i'])
      expect(shellQuote(w)).toBe(w);
  });
});

describe('the adapter README', () => {
  for (const name of NAMES) {
    it(`its commands parse and name the base model ${JSON.stringify(name)} as itself`, () => {
      const readme = adapterReadme(name);
      const shell = blocks(readme, ['bash', 'sh']);
      expect(shell.length).toBeGreaterThan(0);
      for (const b of shell) bashParses(b);
      // The official merge script gets the base model's name as one argument, unchanged.
      const merge = argumentsOf(shell[0]!).find(
        (a) => a[0] === 'merge_lora_weights_and_save_hf_model.py',
      );
      expect(merge).toBeDefined();
      expect(merge![merge!.indexOf('--base_model') + 1]).toBe(name);
      // The Python block parses, and from_pretrained loads the base model by its exact name.
      const [python] = blocks(readme, ['python']);
      const check = `import ast, json, sys
tree = ast.parse(sys.stdin.read())
names = [c.args[0].value for c in ast.walk(tree)
         if isinstance(c, ast.Call) and getattr(c.func, "attr", "") == "from_pretrained"
         and c.args and isinstance(c.args[0], ast.Constant)]
json.dump(names, sys.stdout)`;
      const loaded = JSON.parse(
        execFileSync('python3', ['-c', check], { input: python, encoding: 'utf8' }),
      ) as string[];
      expect(loaded).toContain(name);
    });
  }
});

describe('cluster/', () => {
  for (const kind of ['tokens', 'records'] as const) {
    it(`run.sh and the README's commands parse (${kind})`, () => {
      const data =
        kind === 'tokens'
          ? { kind, blocks: [new Uint32Array(RUN.context)] }
          : { kind, records: [{ instruction: 'Say "hi" $HOME', output: "it's `id`" }] };
      for (const baseModel of NAMES) {
        const files = buildClusterFiles({ ...RUN, baseModel }, data);
        const text = (f: string) => new TextDecoder().decode(files[f]);
        bashParses(text('cluster/run.sh'));
        const shell = blocks(text('cluster/README.md'), ['bash', 'sh']);
        expect(shell.length).toBeGreaterThan(0);
        for (const b of shell) bashParses(b);
      }
    });
  }
});
