/**
 * What `longlora` prints when a command fails: the error's own message without its class name, and
 * for a path that does not exist, the flag that named it and what to give instead — never a raw
 * ENOENT. Usage errors (a missing path included) exit 2, the rest 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FormatError } from '../io/errors.ts';
import { DataError } from '../train/data.ts';
import { InternalError } from '../util/errors.ts';
import { UsageError } from './args.ts';
import { describeCliError, main } from './main.ts';

/** An fs error as Node raises it for a path that does not exist. */
function enoent(path: string, syscall = 'open'): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${syscall} '${path}'`), {
    code: 'ENOENT',
    errno: -2,
    syscall,
    path,
  });
}

describe('describeCliError', () => {
  it("prints a StudioError's message without its class name; usage exits 2, the rest 1", () => {
    expect(describeCliError(new UsageError('--model is required'), [])).toEqual({
      text: '--model is required',
      code: 2,
    });
    expect(describeCliError(new DataError('story.txt is empty.'), [])).toEqual({
      text: 'story.txt is empty.',
      code: 1,
    });
    expect(describeCliError(new FormatError('config.json', 'invalid JSON'), [])).toEqual({
      text: 'config.json: invalid JSON',
      code: 1,
    });
    expect(describeCliError(new InternalError('memory went negative'), []).text).toBe(
      'memory went negative',
    );
    // A bug's own class stays visible (it is not a refusal).
    expect(describeCliError(new TypeError('x is undefined'), []).text).toBe(
      'TypeError: x is undefined',
    );
  });

  const cases: [string, string, RegExp][] = [
    ['model', '/m/llama', /Hugging Face model folder, a \.safetensors file .* or a \.gguf file/],
    ['data', '/d/story.txt', /\.txt, \.json or \.jsonl/],
    ['adapter', '/runs/demo', /the folder longlora train --out wrote/],
    ['init-adapter', '/runs/demo', /the folder longlora train --out wrote/],
    ['tokens', '/t/ids.json', /array of token ids/],
  ];
  for (const [flag, path, hint] of cases) {
    it(`a missing --${flag} names the flag and what to give`, () => {
      const argv = ['--context', '64', `--${flag}`, path, '--steps', '1'];
      const r = describeCliError(enoent(path, 'stat'), argv);
      expect(r.code).toBe(2);
      expect(r.text).toMatch(new RegExp(`^--${flag} ${path}: no such file or folder\\. `));
      expect(r.text).toMatch(hint);
      expect(r.text).not.toMatch(/ENOENT|syscall|errno/);
    });
  }

  it('a file missing inside a folder a flag named, --flag=value, and --out in a missing folder', () => {
    const inside = describeCliError(enoent('/runs/demo/adapter_config.json'), [
      '--adapter=/runs/demo',
    ]);
    expect(inside.text).toMatch(/^--adapter \/runs\/demo: it has no adapter_config\.json\. /);
    expect(inside.code).toBe(2);
    const out = describeCliError(enoent('/no/such/dir/x.gguf'), ['--out', '/no/such/dir/x.gguf']);
    expect(out.text).toBe(
      '--out /no/such/dir/x.gguf: the folder /no/such/dir does not exist; create it first.',
    );
    // A path no flag names: the path, without Node's error text.
    const other = describeCliError(enoent('/etc/longlora/x'), ['--model', '/m']);
    expect(other).toEqual({ text: '/etc/longlora/x: no such file or folder.', code: 1 });
  });
});

describe('longlora on a path that does not exist (no GPU needed)', () => {
  afterEach(() => vi.restoreAllMocks());

  async function failed(...argv: string[]): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation(
      (...a: unknown[]) => void lines.push(a.join(' ')),
    );
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await main(argv);
    return { code, text: lines.join('\n') };
  }

  it('info --model MISSING', async () => {
    const missing = join(tmpdir(), 'longlora-no-such-model');
    const r = await failed('info', '--model', missing);
    expect(r.code).toBe(2);
    expect(r.text).toBe(
      `longlora info: --model ${missing}: no such file or folder. Give a Hugging Face model ` +
        'folder, a .safetensors file with config.json beside it, or a .gguf file.',
    );
  });

  it('info --model EMPTY-FOLDER says what the folder lacks, not "(no files)"', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'longlora-empty-'));
    const r = await failed('info', '--model', empty);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(new RegExp(`^longlora info: ${empty}: no model found`));
    expect(r.text).not.toMatch(/\(no files\)|FormatError/);
  });

  it('a usage error prints no class name', async () => {
    const r = await failed('info');
    expect(r).toEqual({ code: 2, text: 'longlora info: --model is required' });
  });
});
