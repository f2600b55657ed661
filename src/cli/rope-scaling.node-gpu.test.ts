/**
 * The model's own RoPE scaling through the command line: a tiny "llama3" model trains at its default
 * context (within max_position_embeddings), and its adapter's config.json and the merged model's
 * config.json carry its rope_scaling unchanged; training beyond max_position_embeddings, and any
 * training of a "dynamic" model, is refused with the reason.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tinyHfFolder, TINY_LLAMA3_ROPE, TINY_MODELS } from '../test/fixtures.ts';
import { Rng } from '../util/rng.ts';
import { main } from './main.ts';

let out: string[] = [];
let err: string[] = [];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

async function run(...argv: string[]): Promise<string> {
  out = [];
  const code = await main(argv);
  if (code !== 0) throw new Error(`longlora ${argv.join(' ')} exited ${code}: ${err.join('\n')}`);
  return out.join('\n');
}

/** A tiny HF folder with `rope_scaling`, and a text of words its vocabulary knows. */
function tinyModel(ropeScaling: Record<string, unknown>): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-rope-'));
  const model = join(dir, 'model');
  mkdirSync(model);
  const files = tinyHfFolder({ ...TINY_MODELS['tiny-f32-gqa']!, ropeScaling });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(model, name), bytes);
  const rng = new Rng(9);
  const words = ['the', 'and', 'to', 'he', 'she', 'in', 'is', 'was', 'on', 'a'];
  const docs = Array.from({ length: 12 }, () =>
    Array.from({ length: 40 }, () => words[rng.int(words.length)]).join(' '),
  );
  const data = join(dir, 'data.txt');
  writeFileSync(data, docs.join('\n\n'));
  return { dir: model, data };
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('longlora CLI keeps a model’s own rope scaling', () => {
  it('llama3: train at the default context, then adapter and merged config.json keep rope_scaling', async () => {
    const { dir: model, data } = tinyModel(TINY_LLAMA3_ROPE);
    const adapter = mkdtempSync(join(tmpdir(), 'longlora-rope-adapter-'));
    // No --context: min(4 × original_max_position_embeddings 16, max_position_embeddings 64) = 64.
    const log = await run(
      'train',
      '--model',
      model,
      '--data',
      data,
      '--out',
      adapter,
      '--steps',
      '2',
      '--warmup',
      '1',
      '--lr',
      '1e-2',
      '--eval-windows',
      '1',
    );
    expect(log).toMatch(/step 2\/2 loss/);
    expect(json(join(adapter, 'config.json')).rope_scaling).toEqual(TINY_LLAMA3_ROPE);
    expect(readFileSync(join(adapter, 'README.md'), 'utf8')).toMatch(
      /at 64 tokens of context, with the model's own llama3 RoPE scaling, unchanged/,
    );

    const merged = mkdtempSync(join(tmpdir(), 'longlora-rope-merged-'));
    await run('merge', '--model', model, '--adapter', adapter, '--out', merged);
    const config = json(join(merged, 'config.json'));
    expect(config.rope_scaling).toEqual(TINY_LLAMA3_ROPE);
    expect(config.max_position_embeddings).toBe(64);

    // The merged model scores like the adapter on the base: the same llama3 positions in both.
    const evalArgs = ['--data', data, '--context', '64', '--max-windows', '2', '--json'];
    const tuned = JSON.parse(
      await run('eval', '--model', model, '--adapter', adapter, ...evalArgs),
    );
    const m = JSON.parse(await run('eval', '--model', merged, ...evalArgs));
    expect(tuned.ropeFactor).toBe(1);
    expect(m.ropeFactor).toBe(1);
    expect(Math.abs(m.loss - tuned.loss) / tuned.loss).toBeLessThan(1e-5);
  });

  it('llama3 beyond max_position_embeddings and any dynamic model are refused for training', async () => {
    const llama3 = tinyModel(TINY_LLAMA3_ROPE);
    const train = (model: string, data: string, context: string) =>
      main([
        'train',
        '--model',
        model,
        '--data',
        data,
        '--out',
        join(model, 'out'),
        '--context',
        context,
      ]);
    expect(await train(llama3.dir, llama3.data, '128')).toBe(1);
    expect(err.join('\n')).toMatch(
      /longlora train: 128 tokens exceed this model's max_position_embeddings \(64\)\. Its rope_scaling\.rope_type "llama3"/,
    );

    const dynamic = tinyModel({ type: 'dynamic', factor: 2.0 });
    err = [];
    expect(await train(dynamic.dir, dynamic.data, '32')).toBe(1);
    expect(err.join('\n')).toMatch(
      /longlora train: config\.json: rope_scaling\.type "dynamic" \(dynamic NTK scaling\) cannot be trained/,
    );
    err = [];
    expect(await main(['info', '--model', dynamic.dir, '--context', '32'])).toBe(1);
    expect(err.join('\n')).toMatch(/rope_scaling\.type "dynamic"/);

    // A linear factor forced on top of llama3 is refused before training, not at export.
    err = [];
    const forced = await main([
      ...['train', '--model', llama3.dir, '--data', llama3.data, '--out', join(llama3.dir, 'f')],
      ...['--context', '64', '--rope-factor', '2', '--steps', '1'],
    ]);
    expect(forced).toBe(2);
    expect(err.join('\n')).toMatch(/--rope-factor 2: .*llama3/);
    expect(existsSync(join(llama3.dir, 'f', 'adapter_config.json'))).toBe(false);
  });
});
