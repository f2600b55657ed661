/** Node helper: open a model from a folder, a .safetensors file (config.json beside it) or a .gguf. */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError } from './errors.ts';
import { openModel, type OpenedModel } from './model.ts';
import { nodeFileSource } from './source-node.ts';
import type { ByteSource } from './source.ts';

/** Files of a model folder worth looking at (the rest is reported as unexpected by openModel). */
function relevant(name: string): boolean {
  return /\.(json|safetensors|gguf|model)$/.test(name);
}

/** Opens the model at `path`: a folder, a .safetensors (with config.json and tokenizer files beside it) or a .gguf. */
export async function openModelPath(path: string): Promise<OpenedModel> {
  const info = await stat(path);
  let paths: string[];
  if (info.isDirectory()) {
    paths = (await readdir(path)).filter(relevant).map((f) => join(path, f));
    if (!paths.some((p) => /\.(safetensors|gguf)$/.test(p)))
      throw new FormatError(
        path,
        'no model found: the folder has no .safetensors weights or .gguf file (a Hugging Face model folder holds config.json, the weights and tokenizer.json)',
      );
  } else if (path.endsWith('.gguf')) {
    paths = [path];
  } else {
    const dir = dirname(path);
    const side = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
    const present = new Set(await readdir(dir));
    paths = [
      path,
      ...side.filter((f) => present.has(f) && f !== basename(path)).map((f) => join(dir, f)),
    ];
  }
  const sources: ByteSource[] = [];
  for (const p of paths) if ((await stat(p)).isFile()) sources.push(await nodeFileSource(p));
  return openModel(sources);
}
