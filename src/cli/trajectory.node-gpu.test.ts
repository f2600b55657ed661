/**
 * `longlora train` with what a trajectory comparison needs (--init-adapter, --order sequential,
 * --holdout-blocks 0, --data ids.json) against the float64 reference trainer, and the clear errors
 * for bad input to those flags.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readAdapter, type ReadAdapter } from '../io/peft.ts';
import type { RefConfig, RefWeights } from '../reference/llama.ts';
import { refTrain, refTrainables } from '../reference/trainer.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';
import { relativeError } from '../test/numeric.ts';
import { loadStoriesRef, loadStoriesTokenizer } from '../test/trajectory.ts';
import { cutBlocks } from '../train/data.ts';
import { main } from './main.ts';

const run = cliRunner();

async function refused(...argv: string[]): Promise<{ code: number; message: string }> {
  const errors: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  const code = await main(argv);
  return { code, message: errors.join('\n') };
}

function adapterIn(dir: string): Promise<ReadAdapter> {
  const files: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir))
    if (/\.(json|safetensors)$/.test(f)) files[f] = new Uint8Array(readFileSync(join(dir, f)));
  return readAdapter(files);
}

/** Writes an adapter's LoRA matrices and trained tensors into reference weights. */
function applyToRef(cfg: RefConfig, w: RefWeights, a: ReadAdapter): RefConfig {
  for (const l of a.lora)
    w.layers[l.layer]!.lora[l.module] = { A: Float64Array.from(l.A), B: Float64Array.from(l.B) };
  for (const t of a.trained) {
    const m = /^model\.layers\.(\d+)\.(input|post_attention)_layernorm\.weight$/.exec(t.name);
    const dst =
      t.name === 'model.embed_tokens.weight'
        ? w.embed
        : t.name === 'model.norm.weight'
          ? w.norm
          : m
            ? w.layers[Number(m[1])]![m[2] === 'input' ? 'inputNorm' : 'postNorm']
            : undefined;
    if (!dst) throw new Error(`unexpected trained tensor ${t.name}`);
    dst.set(t.data);
  }
  return { ...cfg, loraTargets: [...a.targets], rank: a.r, alpha: a.alpha };
}

describe('longlora train reads text as the user means it', () => {
  it('a book-style .txt is one document; --separator blank-line cuts paragraphs; <|endoftext|> lines are detected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'longlora-separator-'));
    const story = readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(0, 3000);
    const paragraphs = story.split(/\n\s*\n/).filter((p) => p.trim()).length;
    expect(paragraphs).toBeGreaterThan(5);
    const train = async (file: string, content: string, ...extra: string[]) => {
      const path = join(dir, file);
      writeFileSync(path, content);
      const err: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
        err.push(String(s));
        return true;
      });
      await run(
        'train',
        ...['--model', DEMO_DIR, '--data', path, '--out', join(dir, file + '.out')],
        ...['--context', '32', '--steps', '1', '--checkpoint-every', '0', '--eval-windows', '1'],
        ...extra,
      );
      return err.join('');
    };
    expect(await train('book.txt', story)).toMatch(
      /text \(separator none, detected\): 1 document,/,
    );
    expect(await train('book.txt', story, '--separator', 'blank-line')).toMatch(
      new RegExp(`text \\(separator blank-line\\): ${paragraphs} documents`),
    );
    const three = [story.slice(0, 1000), story.slice(1000, 2000), story.slice(2000)].join(
      '\n<|endoftext|>\n',
    );
    expect(await train('three.txt', three)).toMatch(
      /text \(separator eos, detected\): 3 documents/,
    );
  });
});

describe('longlora train for trajectory comparisons (stories260K)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-trajectory-'));
  const init = join(dir, 'init');
  const ids = join(dir, 'ids.json');
  const CONTEXT = 32;
  let tokens: number[];

  it('--init-adapter, --order sequential, --holdout-blocks 0, --data ids.json: 10 steps equal the float64 reference', async () => {
    // An adapter to start from: 2 shuffled steps on the demo text (LoRA B no longer zero).
    const text = join(dir, 'text.txt');
    writeFileSync(
      text,
      readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(0, 6000),
    );
    await run(
      'train',
      ...['--model', DEMO_DIR, '--data', text, '--out', init, '--context', '64'],
      ...['--steps', '2', '--warmup', '1', '--lr', '1e-2', '--rank', '4', '--alpha', '8'],
      ...['--targets', 'q_proj,v_proj', '--checkpoint-every', '0', '--eval-windows', '1'],
    );
    const tok = await loadStoriesTokenizer();
    const story = readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(8000, 12000);
    tokens = tok.encode(story).slice(0, 3 * CONTEXT + 1);
    writeFileSync(ids, JSON.stringify(tokens));

    const out = join(dir, 'run');
    const log = join(dir, 'log.jsonl');
    const printed = await run(
      'train',
      ...['--model', DEMO_DIR, '--data', ids, '--out', out, '--context', String(CONTEXT)],
      ...['--init-adapter', init, '--order', 'sequential', '--holdout-blocks', '0'],
      ...['--steps', '10', '--warmup', '2', '--schedule', 'cosine', '--lr', '5e-3'],
      ...['--grad-accum', '2', '--clip', '0.5', '--attention', 's2', '--log-json', log],
      ...['--checkpoint-every', '0'],
    );
    expect(printed).toMatch(/step 10\/10 loss/);
    const gpu = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; loss: number; gradNorm: number });
    expect(gpu.filter((r) => r.type === 'eval')).toEqual([]); // nothing held out, nothing evaluated

    // The reference: the same adapter, blocks in file order, the CLI's defaults for the rest.
    const stories = await loadStoriesRef();
    const a0 = await adapterIn(init);
    expect([a0.r, a0.alpha, a0.targets]).toEqual([4, 8, ['q_proj', 'v_proj']]);
    const w = stories.w;
    const cfg = {
      ...applyToRef(stories.cfg, w, a0),
      pattern: 's2' as const,
      group: CONTEXT / 4,
      ropeFactor: 1,
    };
    const blocks = cutBlocks(tokens, null, CONTEXT);
    expect(blocks).toHaveLength(3);
    const ref = refTrain(cfg, w, blocks, {
      lr: 5e-3,
      warmup: 2,
      schedule: 'cosine',
      steps: 10,
      gradAccum: 2,
      clip: 0.5,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0,
      trainEmbed: true,
      trainNorm: true,
      order: 'sequential',
      seed: 42,
    });
    const steps = gpu.filter((r) => r.type === 'step');
    expect(steps).toHaveLength(10);
    const lossErr = steps.map((r, i) => Math.abs(r.loss - ref[i]!.loss) / ref[i]!.loss);
    expect(Math.max(...lossErr)).toBeLessThan(1e-4);
    expect(ref.filter((r) => r.gradNorm > 0.5).length).toBeGreaterThan(0); // clipping acted

    // Every tensor of the adapter written after step 10 against the reference's.
    const a1 = await adapterIn(out);
    const want = new Map(
      refTrainables(cfg, w, { trainEmbed: true, trainNorm: true }).map((t) => [t.name, t.param]),
    );
    const got = new Map<string, Float32Array>();
    for (const l of a1.lora) {
      const p = `model.layers.${l.layer}.self_attn.${l.module}`;
      got.set(`${p}.lora_A.weight`, l.A);
      got.set(`${p}.lora_B.weight`, l.B);
    }
    for (const t of a1.trained) got.set(t.name, t.data);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    const tensorErr = [...got].map(([n, v]) => [n, relativeError(v, want.get(n)!)] as const);
    const worst = tensorErr.reduce((x, y) => (y[1] > x[1] ? y : x));
    console.info(
      `CLI trajectory: worst step loss ${Math.max(...lossErr).toExponential(2)}, worst tensor ${worst[1].toExponential(2)} (${worst[0]})`,
    );
    for (const [n, e] of tensorErr) expect(e, n).toBeLessThan(1e-3);
  });

  it('refuses a missing or mismatched --init-adapter, conflicting LoRA flags, and bad token ids, saying what is wrong', async () => {
    const base = [
      'train',
      '--model',
      DEMO_DIR,
      '--out',
      join(dir, 'bad'),
      '--context',
      String(CONTEXT),
    ];
    const missing = await refused(...base, '--data', ids, '--init-adapter', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.message).toMatch(/--init-adapter .*nope: no such folder/);

    // An adapter whose config says rank 8 while its matrices are rank 4.
    const wrong = join(dir, 'wrong-rank');
    cpSync(init, wrong, { recursive: true });
    const cfgPath = join(wrong, 'adapter_config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), r: 8 }));
    const shapes = await refused(...base, '--data', ids, '--init-adapter', wrong);
    expect(shapes.code).toBe(2);
    expect(shapes.message).toMatch(
      /--init-adapter .*wrong-rank: .*does not fit this model \(rank 8/,
    );

    const clash = await refused(...base, '--data', ids, '--init-adapter', init, '--rank', '8');
    expect(clash.code).toBe(2);
    expect(clash.message).toMatch(/--rank 8 \(adapter: 4\)/);

    const order = await refused(...base, '--data', ids, '--order', 'random');
    expect(order.message).toMatch(/--order must be shuffled or sequential \(got random\)/);

    const bad = (name: string, content: string) => {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const notArray = await refused(...base, '--data', bad('obj.json', '{"ids": [1, 2]}'));
    expect(notArray.code).toBe(1);
    expect(notArray.message).toMatch(/Expected a JSON array/);
    const outside = await refused(...base, '--data', bad('big.json', JSON.stringify([1, 5, 512])));
    expect(outside.message).toMatch(
      /Token id 512 \(element 3\) is outside the vocabulary of 512 ids/,
    );
    const empty = await refused(...base, '--data', bad('empty.txt', '\n  \n'));
    expect(empty.message).toMatch(/empty\.txt is empty/);
    const held = await refused(...base, '--data', ids, '--holdout-blocks', '3');
    expect(held.message).toMatch(/Cannot hold out 3 of 3 blocks of 32/);
    const sep = await refused(...base, '--data', ids, '--separator', 'paragraph');
    expect(sep.message).toMatch(/--separator must be one of none, blank-line, line, eos/);
  });
});
