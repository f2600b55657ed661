/** The LoRA adapter GGUF llama.cpp loads beside its base model (general.type "adapter"). */
import { archOf } from './arch.ts';
import { ggufRotaryRowsOfLinear, linearShape, linearWeightName } from './block.ts';
import type { ModelConfig } from './config.ts';
import { f32ToBytes } from './dtype.ts';
import { FormatError, LoraGgufTrainedError } from './errors.ts';
import { checkAdapterShapes } from './gguf-export-merge.ts';
import { GGML } from './gguf-export-meta.ts';
import { planExport, type GgufExport, type GgufStreamTensor } from './gguf-export-stream.ts';
import { hfToGgufName, permuteRotaryRows } from './gguf-llama.ts';
import type { GgufKv } from './gguf-writer.ts';
import type { ReadAdapter } from './peft.ts';

/**
 * A llama.cpp LoRA adapter GGUF (general.type "adapter", adapter.type "lora", adapter.lora.alpha):
 * `<GGUF weight name>.lora_a` [r, in] and `.lora_b` [out, r] in f32, q/k B rows permuted as the
 * base GGUF's rows are. llama.cpp scales by alpha / r as PEFT does. An adapter with trained
 * embeddings or norms is refused: llama.cpp adapters carry only LoRA pairs.
 */
export function loraAdapterGguf(config: ModelConfig, a: ReadAdapter, name: string): GgufExport {
  if (a.trained.length) {
    throw new LoraGgufTrainedError(
      'adapter_model.safetensors',
      `this adapter also trained ${a.trained.length} embedding/norm tensors (LoRA+); a llama.cpp LoRA adapter can only carry LoRA pairs, so those would be lost. Export the merged GGUF instead`,
    );
  }
  if (!a.lora.length)
    throw new FormatError('adapter_model.safetensors', 'the adapter holds no LoRA pairs');
  const shapes = new Map<string, number[]>();
  checkAdapterShapes(config, a, shapes);
  const arch = archOf(config);
  const sorted = [...a.lora].sort((x, y) => x.layer - y.layer || x.module.localeCompare(y.module));
  const tensors: GgufStreamTensor[] = [];
  for (const l of sorted) {
    const [out, inF] = linearShape(config, l.module);
    const gguf = hfToGgufName(linearWeightName(l.layer, l.module, arch), arch)!;
    const r = a.r;
    const permuted = permuteRotaryRows(l.B, ggufRotaryRowsOfLinear(arch, config, l.module), r);
    tensors.push(
      {
        name: `${gguf}.lora_a`,
        dims: [inF, r],
        type: GGML.f32,
        byteLength: l.A.byteLength,
        produce: () => Promise.resolve(f32ToBytes(l.A, 'F32')),
      },
      {
        name: `${gguf}.lora_b`,
        dims: [r, out],
        type: GGML.f32,
        byteLength: permuted.byteLength,
        produce: () => Promise.resolve(f32ToBytes(permuted, 'F32')),
      },
    );
  }
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: arch.ggufArch },
    { key: 'general.type', type: 'string', value: 'adapter' },
    { key: 'general.name', type: 'string', value: name },
    { key: 'adapter.type', type: 'string', value: 'lora' },
    { key: 'adapter.lora.alpha', type: 'f32', value: a.alpha },
  ];
  return planExport(kvs, tensors);
}
