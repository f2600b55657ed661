/**
 * The merged model's config.json as the studio's merged export and `longlora merge` write it
 * (mergedConfigJson over an adapter read back from its files), without a GPU.
 */
import { describe, expect, it } from 'vitest';
import { parseHfConfig } from '../io/config.ts';
import { openModel } from '../io/model.ts';
import { buildAdapterFiles, readAdapter } from '../io/peft.ts';
import { bytesSource } from '../io/source.ts';
import {
  tinyConfigJson,
  tinyGguf,
  tinyHfFolder,
  TINY_LLAMA3_ROPE,
  TINY_MODELS,
  type TinySpec,
} from '../test/fixtures.ts';
import { exportedRopeScaling, ropeFactor } from './longlora.ts';
import { mergedConfigJson } from './session.ts';

/** The adapter files of a run at `context` with nothing trained (the config is what matters). */
function adapterFiles(spec: TinySpec, context: number, withBaseJson: boolean) {
  const configJson = tinyConfigJson(spec);
  const config = parseHfConfig(configJson);
  const factor = ropeFactor(context, config);
  const baseConfigJson = withBaseJson ? configJson : undefined;
  return buildAdapterFiles({
    config,
    baseModel: 'tiny',
    r: 2,
    alpha: 4,
    targets: ['q_proj'],
    lora: [],
    trained: [],
    ropeFactor: factor,
    ropeScaling: exportedRopeScaling(config, factor, baseConfigJson),
    contextLength: context,
    baseConfigJson,
  });
}

describe('merged model config.json', () => {
  it('keeps a llama3 model’s rope_scaling within max_position_embeddings', async () => {
    const spec = { ...TINY_MODELS['tiny-f32-gqa']!, ropeScaling: TINY_LLAMA3_ROPE };
    const folder = tinyHfFolder(spec);
    const opened = await openModel(
      Object.entries(folder).map(([name, bytes]) => bytesSource(name, bytes)),
    );
    const baseJson = tinyConfigJson(spec);
    const adapter = await readAdapter(adapterFiles(spec, 64, true));
    const merged = mergedConfigJson(opened, adapter, baseJson);
    expect(merged.rope_scaling).toEqual(TINY_LLAMA3_ROPE);
    expect({ ...merged, rope_scaling: null }).toEqual({ ...baseJson, rope_scaling: null });
    // No base config.json (as for a GGUF): written from the parsed config, still llama3.
    expect(parseHfConfig(mergedConfigJson(opened, adapter)).ropeScaling).toEqual(
      opened.config.ropeScaling,
    );
    // An adapter without config.json leaves the base's positions as they are.
    expect(mergedConfigJson(opened, { ropeFactor: null }, baseJson).rope_scaling).toEqual(
      TINY_LLAMA3_ROPE,
    );
  });

  it('gives an unscaled GGUF model the adapter’s linear factor and its tying', async () => {
    const spec = TINY_MODELS['tiny-bf16-gqa-tied']!;
    const opened = await openModel([bytesSource('tiny.gguf', tinyGguf(spec))]);
    const adapter = await readAdapter(adapterFiles(spec, 256, false));
    expect(adapter.ropeFactor).toBe(4);
    const merged = mergedConfigJson(opened, adapter);
    expect(merged.rope_scaling).toEqual({ type: 'linear', factor: 4 });
    expect(merged.tie_word_embeddings).toBe(true);
    const within = await readAdapter(adapterFiles(spec, 64, false));
    expect(mergedConfigJson(opened, within).rope_scaling).toBeNull();
  });
});
