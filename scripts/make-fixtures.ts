/**
 * Writes the generated fixtures to fixtures/generated/: the tiny models, GGUFs and malformed files,
 * and real-shape models (SmolLM2-135M, TinyLlama-1.1B, Llama-3.2-1B, Llama-2-7B; see
 * src/test/real-shapes.ts) as Hugging Face folders of random bf16 weights, streamed to disk.
 *
 *   npm run fixtures                       tiny + malformed fixtures, and every real model at small width
 *   npm run fixtures -- --real <name|all> [--width full|small] [--out DIR] [--max-shard-size 5GB]
 *                       [--seed N] [--config-only] [--layers N]
 */
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHfConfig } from '../src/io/config.ts';
import { numel } from '../src/io/dtype.ts';
import { allFixtures } from '../src/test/fixtures-malformed.ts';
import {
  bf16TensorChunks,
  HF_DEFAULT_MAX_SHARD_SIZE,
  hfJsonText,
  isRealModelName,
  parseShardSize,
  plannedTensors,
  planShards,
  realConfigJson,
  REAL_MODEL_NAMES,
  REAL_MODELS,
  realTokenizerFiles,
  safetensorsLayout,
  shardIndex,
  type RealModelName,
  type RealWidth,
} from '../src/test/real-shapes.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'generated');

/** Writes every tiny and malformed fixture under `dir` (replacing what was there); returns the number of files. */
export async function makeFixtures(dir = root): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  const files = allFixtures();
  for (const [path, bytes] of Object.entries(files)) {
    const out = join(dir, path);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, bytes);
  }
  return Object.keys(files).length;
}

/** Options of writeRealModel. */
export interface RealModelOptions {
  width?: RealWidth;
  /** Largest shard in bytes (default save_pretrained's 5 GB); a tensor bigger than this gets its own shard. */
  maxShardSize?: number;
  seed?: number;
  /** Write config, generation config and tokenizer files only. */
  configOnly?: boolean;
  /** Keep only the first N decoder layers (num_hidden_layers = N); every other size stays the model's. */
  layers?: number;
  /** Other config.json fields to replace (benchmarks' in-between shapes). */
  overrides?: Record<string, number>;
}

/** What writeRealModel wrote. */
export interface RealModelWritten {
  dir: string;
  files: string[];
  shards: { file: string; tensors: number; bytes: number }[];
  /** Bytes of tensor data (the index's total_size). */
  totalSize: number;
  parameters: number;
}

/**
 * Writes a real-shape model as a Hugging Face folder under `dir` (created, not emptied): config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json and, unless configOnly, the bf16
 * weights sharded as save_pretrained shards them (model.safetensors, or model-0000i-of-0000N.safetensors
 * with model.safetensors.index.json). Each tensor is generated and written a chunk at a time, so memory
 * stays flat whatever the model's size.
 */
export async function writeRealModel(
  dir: string,
  name: RealModelName,
  opts: RealModelOptions = {},
): Promise<RealModelWritten> {
  const width = opts.width ?? 'full';
  const configOnly = opts.configOnly ?? false;
  if (!configOnly && !REAL_MODELS[name].weights.includes(width)) {
    throw new Error(
      `${name} at ${width} width is config-only here (its weights would be ${(
        (2 * REAL_MODELS[name].parameters) /
        1e9
      ).toFixed(1)} GB); pass --config-only, or --width small`,
    );
  }
  await mkdir(dir, { recursive: true });
  const configJson = realConfigJson(name, width);
  Object.assign(configJson, opts.overrides ?? {});
  if (opts.layers !== undefined) configJson.num_hidden_layers = opts.layers;
  const config = parseHfConfig(configJson, `${name}/${width}/config.json`);
  const { tokenizer, tokenizerConfig } = realTokenizerFiles(name);
  const text: Record<string, string> = {
    'config.json': hfJsonText(configJson),
    'generation_config.json': hfJsonText({
      _from_model_config: true,
      bos_token_id: configJson.bos_token_id,
      eos_token_id: configJson.eos_token_id,
    }),
    'tokenizer.json': JSON.stringify(tokenizer, null, 2),
    'tokenizer_config.json': JSON.stringify(tokenizerConfig, null, 2) + '\n',
  };
  const tensors = plannedTensors(config);
  const shards = planShards(tensors, opts.maxShardSize ?? HF_DEFAULT_MAX_SHARD_SIZE);
  const index = shardIndex(shards);
  if (!configOnly && index) text['model.safetensors.index.json'] = hfJsonText(index);
  for (const [file, body] of Object.entries(text)) await writeFile(join(dir, file), body);
  const files = Object.keys(text);
  const seed = opts.seed ?? 0;
  if (!configOnly) {
    for (const shard of shards) {
      await writeShard(join(dir, shard.file), shard.tensors, seed);
      files.push(shard.file);
    }
  }
  return {
    dir,
    files,
    shards: configOnly
      ? []
      : shards.map((s) => ({ file: s.file, tensors: s.tensors.length, bytes: s.bytes })),
    totalSize: shards.reduce((a, s) => a + s.bytes, 0),
    parameters: tensors.reduce((a, t) => a + numel(t.shape), 0),
  };
}

/** Writes one safetensors shard, header first, then each tensor's values chunk by chunk. */
async function writeShard(
  path: string,
  tensors: Parameters<typeof safetensorsLayout>[0],
  seed: number,
): Promise<void> {
  const { head, order } = safetensorsLayout(tensors);
  const fh = await open(path, 'w');
  try {
    await fh.write(head);
    for (const t of order) {
      for (const chunk of bf16TensorChunks(t.name, t.bytes / 2, seed)) await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
}

/** Parsed `--real` command line. */
export interface RealArgs {
  names: RealModelName[];
  /** `--real all`: a model whose weights are not written at this width gets its config only. */
  all: boolean;
  width: RealWidth;
  out: string | null;
  maxShardSize: number;
  seed: number;
  configOnly: boolean;
  /** `--layers N`: only the first N decoder layers. */
  layers?: number;
}

/** Parses the script's arguments; null when `--real` is absent (write the default fixtures). */
export function parseRealArgs(argv: string[]): RealArgs | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      real: { type: 'string' },
      width: { type: 'string', default: 'full' },
      out: { type: 'string' },
      'max-shard-size': { type: 'string', default: String(HF_DEFAULT_MAX_SHARD_SIZE) },
      seed: { type: 'string', default: '0' },
      'config-only': { type: 'boolean', default: false },
      layers: { type: 'string' },
    },
    strict: true,
  });
  if (values.real === undefined) return null;
  const names = values.real === 'all' ? [...REAL_MODEL_NAMES] : values.real.split(',');
  for (const n of names) {
    if (!isRealModelName(n))
      throw new Error(`unknown model "${n}" (one of ${REAL_MODEL_NAMES.join(', ')}, or all)`);
  }
  if (values.width !== 'full' && values.width !== 'small')
    throw new Error(`--width must be full or small (got "${values.width}")`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got "${values.seed}")`);
  const layers = values.layers === undefined ? undefined : Number(values.layers);
  if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1))
    throw new Error(`--layers must be a whole number ≥ 1 (got "${values.layers}")`);
  if (values.out !== undefined && names.length > 1)
    throw new Error('--out names one folder: give one model with it');
  return {
    names: names as RealModelName[],
    all: values.real === 'all',
    width: values.width,
    out: values.out ?? null,
    maxShardSize: parseShardSize(values['max-shard-size']),
    seed,
    configOnly: values['config-only'],
    layers,
  };
}

/** Where a real model is written by default: fixtures/generated/real/<name>-<width>. */
export function defaultRealDir(name: RealModelName, width: RealWidth): string {
  return join(root, 'real', `${name}-${width}`);
}

function describeWritten(w: RealModelWritten): string {
  const gb = (b: number) => `${(b / 1e9).toFixed(3)} GB`;
  const shards = w.shards.length
    ? `${w.shards.length} shard${w.shards.length > 1 ? 's' : ''}, ${gb(w.totalSize)}`
    : 'config only';
  return `${w.dir}: ${(w.parameters / 1e6).toFixed(1)}M parameters, ${shards}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseRealArgs(process.argv.slice(2));
  if (args === null) {
    const n = await makeFixtures();
    console.log(`wrote ${n} fixture files to ${root}`);
    for (const name of REAL_MODEL_NAMES) {
      console.log(
        describeWritten(
          await writeRealModel(defaultRealDir(name, 'small'), name, { width: 'small' }),
        ),
      );
    }
  } else {
    for (const name of args.names) {
      const dir = args.out ? resolve(args.out) : defaultRealDir(name, args.width);
      const w = await writeRealModel(dir, name, {
        width: args.width,
        maxShardSize: args.maxShardSize,
        seed: args.seed,
        configOnly:
          args.configOnly || (args.all && !REAL_MODELS[name].weights.includes(args.width)),
        layers: args.layers,
      });
      console.log(describeWritten(w));
    }
  }
}
