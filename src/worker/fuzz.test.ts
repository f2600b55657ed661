/**
 * The seeded mutation fuzzer, run through the studio's own load path (openSession → modelSummary →
 * the memory plan → every tensor read and decoded → the tokenizer; loadData → dataSummary): every
 * mutant loads or raises a StudioError with a specific message, never a TypeError/RangeError, a hang,
 * or a read past the file. FUZZ_SEED=N reproduces a run, FUZZ_MUTANTS=N sets how many (≥ 3000 here),
 * FUZZ_ONLY=i runs one mutant of the seed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AdapterSummary } from '../engine/device.ts';
import { bytesToF32 } from '../io/dtype.ts';
import { bytesSource, type ByteSource } from '../io/source.ts';
import { studioDefaults } from '../train/settings.ts';
import { assetPath } from '../test/assets-node.ts';
import { quantizedDemoGguf } from '../test/quant-fixtures.ts';
import {
  baseFiles,
  DATA_FORMATS,
  FUZZ_FORMATS,
  fuzzSeed,
  makeMutant,
  type FuzzBase,
  type FuzzFormat,
  type Mutant,
} from '../test/fuzz.ts';
import { isErrorKind, StudioError } from '../util/errors.ts';
import {
  dataSummary,
  loadData,
  modelSummary,
  openSession,
  planFor,
  type LoadedModel,
  type Session,
} from './session.ts';

const read = (f: string) => new Uint8Array(readFileSync(assetPath(f)));
const BASE: FuzzBase = {
  safetensors: read('model.safetensors'),
  config: read('config.json'),
  tokenizer: read('tokenizer.json'),
  tokenizerConfig: read('tokenizer_config.json'),
  gguf: read('stories260K.gguf'),
  ggufQuant: await quantizedDemoGguf(),
  // A few stories: enough for blocks of 64 tokens, small enough to tokenize thousands of times.
  text: readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 1500),
};

const SEED = fuzzSeed(process.env.FUZZ_SEED);
const COUNT = Number(process.env.FUZZ_MUTANTS ?? 3200);
const ONLY = process.env.FUZZ_ONLY === undefined ? null : Number(process.env.FUZZ_ONLY);
const CONTEXT = 64;

const adapter = {
  isSoftware: true,
  limits: { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 },
} as AdapterSummary;

/**
 * A source that fails the test when anything asks for bytes outside the file or a negative or
 * non-integer range (the way an allocation larger than the file would start).
 */
function guarded(name: string, bytes: Uint8Array, reads: string[]): ByteSource {
  const inner = bytesSource(name, bytes);
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      if (
        !Number.isSafeInteger(offset) ||
        !Number.isSafeInteger(length) ||
        offset < 0 ||
        length < 0 ||
        offset + length > bytes.length
      )
        reads.push(`${name}: read(${offset}, ${length}) of a ${bytes.length}-byte file`);
      return inner.read(offset, length);
    },
  };
}

const sourcesOf = (files: Record<string, Uint8Array>, reads: string[]) =>
  Object.entries(files).map(([n, b]) => guarded(n, b, reads));

/** Everything the studio does with a model right after it is opened. */
async function loadModel(files: Record<string, Uint8Array>, reads: string[]): Promise<LoadedModel> {
  const model = await openSession(sourcesOf(files, reads), () => {});
  const summary = modelSummary(model);
  const session: Session = { model, data: null };
  planFor(session, adapter, studioDefaults(summary), null);
  const names = model.opened.tensors.map((t) => t.name);
  expect(new Set(names).size, 'tensor names are unique').toBe(names.length);
  for (const t of model.opened.tensors) {
    const bytes = await t.read();
    expect(bytes.length, `${t.name} bytes`).toBe(t.byteLength);
    bytesToF32(bytes, t.dtype);
    if (t.byteLength >= 8) await t.readRange(t.byteLength - 8, 8);
  }
  model.tokenizer?.decode(model.tokenizer.encode('Once upon a time, Lily saw a dog.'));
  return model;
}

let demo: LoadedModel | null = null;
async function demoModel(): Promise<LoadedModel> {
  demo ??= await loadModel(baseFiles(BASE, 'safetensors'), []);
  return demo;
}

/** Runs one mutant; returns what went wrong (null when it loaded or was refused properly). */
async function runMutant(m: Mutant): Promise<{ outcome: string; problem: string | null }> {
  const reads: string[] = [];
  const t0 = performance.now();
  let outcome: string;
  let problem: string | null = null;
  try {
    if (m.target === 'model') await loadModel(m.files, reads);
    else {
      const session: Session = { model: await demoModel(), data: null };
      const [[name, bytes]] = Object.entries(m.files) as [[string, Uint8Array]];
      session.data = await loadData(session, guarded(name, bytes, reads), CONTEXT, () => {});
      dataSummary(session.data);
    }
    outcome = 'loaded';
  } catch (e) {
    if (!(e instanceof StudioError)) {
      problem = `threw ${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}`;
      outcome = 'crash';
    } else if (!isErrorKind(e.kind) || e.kind === 'unknown') {
      problem = `${e.name} with kind ${e.kind}`;
      outcome = 'crash';
    } else if (
      /gguf-quant: "([^"]+)" block \d+ scale/.test(m.op) &&
      !e.message.includes(`tensor "${/"([^"]+)"/.exec(m.op)![1]}"`)
    ) {
      // A non-finite scale is refused naming its tensor (the HF name is not what the file says).
      problem = `a non-finite scale refused without naming the tensor: "${e.message}"`;
      outcome = e.name;
    } else if (e.message.replace(/^[^:]*:/, '').trim().length < 12) {
      problem = `${e.name} with no specific message: "${e.message}"`;
      outcome = e.name;
    } else outcome = e.name;
  }
  const ms = performance.now() - t0;
  if (!problem && reads.length) problem = `read outside the file: ${reads[0]}`;
  if (!problem && ms > 5000) problem = `took ${ms.toFixed(0)} ms`;
  return { outcome, problem };
}

describe(`mutation fuzzer (seed ${SEED}; rerun with FUZZ_SEED=${SEED})`, () => {
  it('loads every unmutated base file set', async () => {
    for (const f of FUZZ_FORMATS) {
      const files = baseFiles(BASE, f);
      const m: Mutant = {
        seed: SEED,
        index: -1,
        format: f,
        target: DATA_FORMATS.includes(f) ? 'data' : 'model',
        op: 'none',
        files,
      };
      expect(await runMutant(m), f).toEqual({ outcome: 'loaded', problem: null });
    }
  });

  it(
    `${ONLY === null ? COUNT : 1} mutants load or are refused with a StudioError`,
    { timeout: 180_000 },
    async () => {
      console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces it)`);
      const t0 = performance.now();
      const counts: Record<FuzzFormat, Record<string, number>> = Object.fromEntries(
        FUZZ_FORMATS.map((f) => [f, {}]),
      ) as Record<FuzzFormat, Record<string, number>>;
      const failures: string[] = [];
      const slowest: { ms: number; what: string }[] = [];
      const indices = ONLY === null ? Array.from({ length: COUNT }, (_, i) => i) : [ONLY];
      for (const i of indices) {
        const m = makeMutant(BASE, SEED, i);
        const t1 = performance.now();
        const { outcome, problem } = await runMutant(m);
        slowest.push({
          ms: performance.now() - t1,
          what: `${i} [${m.format}] ${m.op.slice(0, 100)}`,
        });
        slowest.sort((a, b) => b.ms - a.ms).splice(5);
        counts[m.format][outcome] = (counts[m.format][outcome] ?? 0) + 1;
        if (problem)
          failures.push(
            `FUZZ_SEED=${SEED} FUZZ_ONLY=${i} [${m.format}] ${m.op.slice(0, 200)}: ${problem}`,
          );
      }
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${indices.length} mutants in ${s.toFixed(1)} s:\n` +
          FUZZ_FORMATS.map((f) => {
            const c = counts[f];
            const n = Object.values(c).reduce((a, b) => a + b, 0);
            return `  ${f}: ${n} (${Object.entries(c)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`;
          }).join('\n') +
          `\nslowest: ${slowest.map((x) => `${x.ms.toFixed(0)} ms ${x.what}`).join('; ')}`,
      );
      expect(failures.slice(0, 30), `${failures.length} failures`).toEqual([]);
      if (ONLY === null) expect(indices.length).toBeGreaterThanOrEqual(3000);
    },
  );
});
