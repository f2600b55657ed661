/**
 * A quantized GGUF on the command line (issue 26 items 1 and 2): stories260K with its projections,
 * embeddings and output in Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 blocks (gguf-py's, fixtures/quant/) is described
 * by `info` with its stored types, planned with the blocks' GPU bytes (the GPU keeps them quantized),
 * gives the loss and gradients of an F32 GGUF of the dequantized values (within 2e-3: the kernels
 * sum the same products in another order), and trains.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { bytesSource } from '../io/source.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';
import { relativeError } from '../test/numeric.ts';
import {
  dequantizedDemoGguf,
  dequantizedGguf,
  kQuantModelGguf,
  quantFixturePath,
  quantizedDemoGguf,
} from '../test/quant-fixtures.ts';

const run = cliRunner();

/** The f32 tensors of a safetensors file by name. */
async function tensorsOf(bytes: Uint8Array): Promise<Map<string, Float32Array>> {
  const h = await readSafetensorsHeader(bytesSource('grads', bytes));
  const out = new Map<string, Float32Array>();
  for (const t of h.tensors) out.set(t.name, new Float32Array(bytes.slice(t.begin, t.end).buffer));
  return out;
}

/** Asserts every tensor of `b` matches `a`'s of the same name within `tol` (norm-wise relative). */
async function expectClose(a: Uint8Array, b: Uint8Array, tol: number): Promise<void> {
  const [x, y] = [await tensorsOf(a), await tensorsOf(b)];
  expect([...x.keys()]).toEqual([...y.keys()]);
  const off: string[] = [];
  for (const [name, u] of x) {
    const v = y.get(name)!;
    const err = relativeError(u, Float64Array.from(v));
    if (!(err < tol)) off.push(`${name}: ${err.toExponential(2)}`);
  }
  expect(off).toEqual([]);
}

describe('a quantized GGUF through the CLI (kept in its blocks on the GPU)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-quant-'));
  const quant = join(dir, 'stories260K-q.gguf');
  const plain = join(dir, 'stories260K-deq.gguf');
  const tokens = join(dir, 'ids.json');
  writeFileSync(tokens, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % 512)));

  it('info shows the stored types and plans the bytes it uploads', async () => {
    writeFileSync(quant, await quantizedDemoGguf());
    writeFileSync(plain, await dequantizedDemoGguf());
    const out = await run('info', '--model', quant, '--context', '64');
    expect(out).toContain(
      'stored as F32 218 KiB · Q8_0 91.1 KiB · Q4_1 39.8 KiB · Q5_0 28.9 KiB · Q5_1 15.0 KiB · Q4_0 11.3 KiB',
    );
    expect(out).toContain('quantized matrices stay in their blocks on the GPU');
    const q = JSON.parse(await run('info', '--model', quant, '--context', '64', '--json'));
    const p = JSON.parse(await run('info', '--model', plain, '--context', '64', '--json'));
    expect(q.quantized).toBe(true);
    expect(p.quantized).toBe(false);
    expect(q.storedTypes.map((s: { type: string }) => s.type).sort()).toEqual([
      'F32',
      'Q4_0',
      'Q4_1',
      'Q5_0',
      'Q5_1',
      'Q8_0',
    ]);
    // The plan counts what is uploaded: the blocks in their GPU layout, fewer bytes than f32.
    expect(q.plan.weights).toBeLessThan(p.plan.weights / 2);
    expect(q.baseTypes.map((s: { type: string }) => s.type)).toContain('Q8_0');
    expect(q.plan.activations).toBe(p.plan.activations);
  });

  it('grad: the loss and gradients of the F32 GGUF of the dequantized values', async () => {
    const grads = async (model: string, name: string) => {
      const file = join(dir, name);
      await run('grad', '--model', model, '--tokens', tokens, '--context', '64', '--out', file);
      const bytes = new Uint8Array(readFileSync(file));
      const h = await readSafetensorsHeader(bytesSource(name, bytes));
      return { bytes, names: h.tensors.map((t) => t.name) };
    };
    const q = await grads(quant, 'q.safetensors');
    const p = await grads(plain, 'p.safetensors');
    expect(q.names).toContain('loss');
    expect(q.names).toEqual(p.names);
    await expectClose(p.bytes, q.bytes, 2e-3);
  }, 120_000);

  it('K-quants (Q4_K, Q5_K, Q6_K, widths of 256): info, and grad as the F32 file', async () => {
    const k = kQuantModelGguf();
    const kq = join(dir, 'k-quant.gguf');
    const kp = join(dir, 'k-deq.gguf');
    writeFileSync(kq, k.quant);
    writeFileSync(kp, k.dequantized);
    const info = JSON.parse(await run('info', '--model', kq, '--context', '64', '--json'));
    expect(info.storedTypes.map((s: { type: string }) => s.type)).toEqual([
      'Q6_K',
      'Q4_K',
      'Q5_K',
      'F32',
    ]);
    const ids = join(dir, 'k-ids.json'); // the tiny vocabulary has 290 tokens
    writeFileSync(ids, JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % 290)));
    const out = [kq, kp].map((_, i) => join(dir, `k${i}.safetensors`));
    for (const [i, m] of [kq, kp].entries())
      await run('grad', '--model', m, '--tokens', ids, '--context', '64', '--out', out[i]!);
    const [a, b] = out.map((f) => readFileSync(f));
    await expectClose(new Uint8Array(b!), new Uint8Array(a!), 2e-3);
    const h = await readSafetensorsHeader(bytesSource('k', new Uint8Array(a!)));
    const loss = h.tensors.find((t) => t.name === 'loss')!;
    const l = new DataView(a!.buffer, a!.byteOffset + loss.begin, 4).getFloat32(0, true);
    expect(l > 4 && l < 8, `loss ${l}`).toBe(true); // about ln 290 = 5.67 for small weights
  }, 120_000);

  it("llama-quantize's own Q4_K_M files (the demo, all fallbacks; the 256-wide model, Q4_K and Q6_K): grad as their F32 twins", async () => {
    for (const [name, vocab, types] of [
      ['stories260K-Q4_K_M.gguf', 512, ['Q5_0', 'Q8_0']],
      ['wide-Q4_K_M.gguf', 290, ['Q4_K', 'Q6_K']],
    ] as const) {
      const q = join(dir, name);
      const p = join(dir, `f32-${name}`);
      const bytes = new Uint8Array(readFileSync(quantFixturePath(`llama-quantize/${name}`)));
      writeFileSync(q, bytes);
      writeFileSync(p, await dequantizedGguf(bytes));
      const info = JSON.parse(await run('info', '--model', q, '--context', '64', '--json'));
      const onGpu = info.baseTypes.map((t: { type: string }) => t.type);
      for (const t of types) expect(onGpu, name).toContain(t);
      const ids = join(dir, `${name}.ids.json`);
      writeFileSync(
        ids,
        JSON.stringify(Array.from({ length: 64 }, (_, i) => (i * 37 + 1) % vocab)),
      );
      const out = [q, p].map((m) => join(dir, `${m.split('/').at(-1)}.grads.safetensors`));
      for (const [i, m] of [q, p].entries())
        await run('grad', '--model', m, '--tokens', ids, '--context', '64', '--out', out[i]!);
      const [a, b] = out.map((f) => new Uint8Array(readFileSync(f)));
      await expectClose(b!, a!, 2e-3);
    }
  }, 300_000);

  it('train runs steps on it', async () => {
    const data = join(dir, 'story.txt');
    writeFileSync(
      data,
      readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(0, 4000),
    );
    const log = join(dir, 'log.json');
    await run(
      'train',
      ...['--model', quant, '--data', data, '--out', join(dir, 'run')],
      ...['--context', '64', '--steps', '2', '--holdout-blocks', '0', '--no-tune'],
      ...['--log-json', log],
    );
    const text = readFileSync(log, 'utf8');
    const losses = [...text.matchAll(/"loss":\s*([-\d.e+]+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBeGreaterThanOrEqual(2);
    for (const l of losses) expect(Number.isFinite(l) && l > 0 && l < 10).toBe(true);
  }, 300_000);
});
