/**
 * The files a trained run is exported as, built once for both hosts: the adapter (PEFT and the
 * official LongLoRA layouts, config.json with rope_scaling, README), `cluster/` (the run's data in
 * the official scripts' format and run.sh with its settings) when the run's data is at hand, and
 * `merged/` (the base with the adapter merged in) when asked. The studio zips them; the CLI writes
 * them into a folder.
 */
import { buildClusterFiles, type ClusterData } from '../io/cluster.ts';
import type { OpenedModel } from '../io/model.ts';
import { readAdapter } from '../io/peft.ts';
import type { LlamaParams } from '../model/params.ts';
import { exportAdapter, mergedConfigJson, mergeModel } from '../model/session.ts';
import { parseAlpaca, type Dataset } from './data.ts';
import type { RunSettings } from './settings.ts';

/** The run's data as the official scripts take it: instruction records, or the training blocks' ids. */
export function clusterData(
  format: Dataset['format'],
  text: string,
  blocks: () => readonly Uint32Array[],
): ClusterData {
  return format === 'alpaca-json' || format === 'alpaca-jsonl'
    ? { kind: 'records', records: parseAlpaca(text, format) }
    : { kind: 'tokens', blocks: [...blocks()] };
}

/** `cluster/`: continuing the run with the official LongLoRA scripts on a GPU cluster. */
export function clusterFiles(
  s: RunSettings,
  baseModel: string,
  data: ClusterData,
): Record<string, Uint8Array> {
  return buildClusterFiles({ ...s, baseModel }, data);
}

export interface RunFilesArgs {
  params: LlamaParams;
  opened: OpenedModel;
  /** What the README and adapter_config.json call the base model. */
  baseModel: string;
  settings: RunSettings;
  /** The position-interpolation factor the run trained with (resolved). */
  ropeFactor: number;
  /** The base's own config.json, carried into the exported ones. */
  baseConfigJson?: Record<string, unknown>;
  /** The run's data (its dataset at the run's context, and the text it came from): adds cluster/. */
  data?: { dataset: Pick<Dataset, 'format' | 'context' | 'train'>; text: string };
  /** Adds merged/: model.safetensors and config.json of the base with the adapter merged in. */
  merged?: boolean;
}

/** Every file of a trained run's export, by path (see the module comment). */
export async function runFiles(a: RunFilesArgs): Promise<Record<string, Uint8Array>> {
  const s = a.settings;
  const files = await exportAdapter(
    a.params,
    a.opened.config,
    a.baseModel,
    a.ropeFactor,
    s.context,
    a.baseConfigJson,
  );
  const d = a.data;
  if (d && d.dataset.context === s.context) {
    const data = clusterData(d.dataset.format, d.text, () => d.dataset.train.map((b) => b.ids));
    Object.assign(files, clusterFiles(s, a.baseModel, data));
  }
  if (a.merged) {
    const adapter = await readAdapter(files);
    files['merged/model.safetensors'] = await mergeModel(a.opened, adapter);
    const config = mergedConfigJson(a.opened, adapter, a.baseConfigJson);
    files['merged/config.json'] = new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n');
  }
  return files;
}
