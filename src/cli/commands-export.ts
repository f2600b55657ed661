/** `longlora export-gguf`: the merged model (or a LoRA adapter) as a GGUF for llama.cpp, streamed to disk. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ropeInvFreq } from '../engine/kernels/rope.ts';
import type { ModelConfig } from '../io/config.ts';
import { readGguf } from '../io/gguf.ts';
import {
  GGUF_EXPORT_DTYPES,
  ggufRope,
  loraAdapterGguf,
  mergedGguf,
  streamGguf,
  tokenizerKvs,
  type GgufExport,
  type GgufExportDtype,
} from '../io/gguf-export.ts';
import type { OpenedModel } from '../io/model.ts';
import type { ReadAdapter } from '../io/peft.ts';
import { nodeFileSource } from '../io/source-node.ts';
import { defaultTargetContext, ropeFactor } from '../model/longlora.ts';
import { buildDataset, detectFormat, SEPARATORS, type Separator } from '../train/data.ts';
import { cliDefaults } from '../train/settings.ts';
import { clusterData, clusterFiles } from '../train/run-files.ts';
import { b, num, parse, req, s, UsageError } from './args.ts';
import { log, settingsFromArgs, openModelArg, readAdapterDir, tokenizerOf } from './common.ts';

/** The context an adapter was trained at: --context, else what its README says, else F × the native context. */
async function trainedContext(
  v: Record<string, unknown>,
  adapterDir: string | undefined,
  config: ModelConfig,
  factor: number,
): Promise<number> {
  if (v.context !== undefined) return num(v, 'context', 0);
  if (adapterDir && existsSync(join(adapterDir, 'README.md'))) {
    const m = /at (\d+) tokens of context/.exec(
      await readFile(join(adapterDir, 'README.md'), 'utf8'),
    );
    if (m) return Number(m[1]);
  }
  return Math.round(config.maxPositions * factor);
}

/** The .gguf the model was opened from (a .gguf path, or the one .gguf of a GGUF-only folder). */
function sourceGgufPath(path: string, m: OpenedModel): string | undefined {
  if (m.format !== 'gguf') return undefined;
  if (statSync(path).isFile()) return path;
  const g = readdirSync(path).filter((f) => f.endsWith('.gguf'));
  return g.length === 1 ? join(path, g[0]!) : undefined;
}

/** Streams a planned GGUF to a file, logging progress every ~10%. */
export async function writeGgufFile(exp: GgufExport, out: string): Promise<void> {
  const fh = await open(out, 'w');
  let next = 0.1;
  try {
    await streamGguf(
      exp,
      async (chunk) => {
        await fh.write(chunk);
      },
      (done, total) => {
        if (done / total >= next || done === total) {
          log(`  ${((100 * done) / total).toFixed(0)}% (${(done / 2 ** 20).toFixed(1)} MiB)`);
          next = Math.floor((done / total) * 10) / 10 + 0.1;
        }
      },
    );
  } finally {
    await fh.close();
  }
}

/** `export-gguf`: base (+ adapter merged) → FILE.gguf, or with --lora the adapter as a llama.cpp LoRA GGUF. */
export async function exportGguf(argv: string[]): Promise<void> {
  const v = parse(argv, { model: s, adapter: s, out: s, dtype: s, context: s, lora: b });
  const path = req(v, 'model');
  const out = req(v, 'out');
  if (!out.endsWith('.gguf')) throw new UsageError(`--out must name a .gguf file (got ${out})`);
  const dtypeArg = v.dtype;
  if (dtypeArg !== undefined && !GGUF_EXPORT_DTYPES.includes(dtypeArg as GgufExportDtype))
    throw new UsageError(
      `--dtype must be one of ${GGUF_EXPORT_DTYPES.join(', ')} (got ${String(dtypeArg)})`,
    );
  const adapterDir = typeof v.adapter === 'string' ? v.adapter : undefined;
  if (adapterDir !== undefined && !existsSync(join(adapterDir, 'adapter_config.json')))
    throw new UsageError(
      `--adapter ${adapterDir}: no adapter_config.json there (expected the folder train --out wrote)`,
    );
  const m = await openModelArg(path);
  const adapter: ReadAdapter | undefined = adapterDir
    ? await readAdapterDir(adapterDir, m)
    : undefined;
  const t0 = performance.now();
  const name = `${basename(path).replace(/\.gguf$/, '')}${adapter ? '-longlora' : ''}`;
  let exp: GgufExport;
  if (v.lora) {
    if (!adapter) throw new UsageError('--lora writes the adapter as a GGUF: give --adapter DIR');
    if (adapter.trained.length)
      throw new UsageError(
        `--adapter ${adapterDir} also trained ${adapter.trained.length} embedding/norm tensors (LoRA+); a llama.cpp LoRA adapter cannot carry embeddings or norms, so they would be lost. Export the merged GGUF instead (leave out --lora).`,
      );
    exp = loraAdapterGguf(m.config, adapter, name);
  } else {
    // The adapter's factor (from its config.json); for the base alone, the factor --context needs.
    let contextLength: number;
    let factor: number;
    if (adapter) {
      const known = adapter.ropeFactor;
      // The trained context, or the native one when training stayed below it.
      contextLength = Math.max(
        await trainedContext(v, adapterDir, m.config, known ?? 1),
        m.config.maxPositions,
      );
      factor = known ?? ropeFactor(contextLength, m.config);
    } else {
      contextLength = num(v, 'context', m.config.maxPositions);
      factor = ropeFactor(contextLength, m.config);
    }
    const srcGguf = sourceGgufPath(path, m);
    const dtype: GgufExportDtype =
      (dtypeArg as GgufExportDtype | undefined) ??
      (m.dtypes.length === 1 && m.dtypes[0] === 'F32'
        ? 'f32'
        : m.dtypes.includes('BF16')
          ? 'bf16'
          : 'f16');
    exp = mergedGguf({
      model: m,
      adapter,
      dtype,
      contextLength,
      rope: ggufRope(m.config, factor, (f, l3) =>
        ropeInvFreq(m.config.headDim, m.config.ropeTheta, f, l3),
      ),
      name,
      tokenizer: tokenizerKvs(
        m.tokenizer,
        m.config,
        srcGguf ? await readGguf(await nodeFileSource(srcGguf)) : undefined,
      ),
    });
    log(
      `export-gguf: ${adapter ? 'merged' : 'base'} model, ${dtype}, context ${contextLength}, rope ${factor === 1 ? 'unscaled' : `linear ×${factor}`}${m.config.ropeScaling?.type === 'llama3' ? ' on llama3 frequencies (rope_freqs)' : ''}, ${(exp.fileBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  await writeGgufFile(exp, out);
  log(`wrote ${out} (${exp.fileBytes} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * `export-cluster`: the cluster/ folder (the run's data in the official scripts' format, run.sh,
 * README) for continuing a run on a GPU cluster. Takes the training flags the run used.
 */
export async function exportCluster(argv: string[]): Promise<void> {
  const v = parse(argv, {
    model: s,
    data: s,
    out: s,
    context: s,
    attention: s,
    trainable: s,
    lr: s,
    warmup: s,
    schedule: s,
    steps: s,
    'grad-accum': s,
    separator: s,
    'holdout-blocks': s,
  });
  const modelPath = req(v, 'model');
  const dataPath = req(v, 'data');
  const out = req(v, 'out');
  const m = await openModelArg(modelPath);
  const settings = settingsFromArgs(v, cliDefaults(defaultTargetContext(m.config)));
  const context = settings.context;
  const sep = v.separator;
  if (sep !== undefined && !SEPARATORS.includes(sep as Separator))
    throw new UsageError(
      `--separator must be one of ${SEPARATORS.join(', ')} (got ${String(sep)})`,
    );
  const text = await readFile(dataPath, 'utf8');
  // Instruction records go as they are; text is tokenized and cut as train would cut it.
  const data = clusterData(detectFormat(dataPath, text), text, () => {
    const tok = tokenizerOf(m, modelPath);
    const heldOutBlocks =
      v['holdout-blocks'] === undefined ? undefined : num(v, 'holdout-blocks', 0);
    return buildDataset(dataPath, text, tok, {
      context,
      heldOutFraction: 0.05,
      heldOutBlocks,
      separator: sep as Separator | undefined,
      vocabSize: m.config.vocabSize,
    }).train.map((b) => b.ids);
  });
  const files = clusterFiles(settings, basename(modelPath), data);
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(out, name.replace(/^cluster\//, ''));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
  await chmod(join(out, 'run.sh'), 0o755);
  log(
    `wrote ${Object.keys(files).length} files to ${out} (${data.kind === 'records' ? `${data.records.length} records` : `${data.blocks.length} blocks of ${context} tokens`})`,
  );
}
