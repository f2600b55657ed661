/**
 * GGUF export for llama.cpp: the merged model (base + scaling·B·A, trained embeddings and norms
 * substituted) or a LoRA adapter GGUF (general.type = adapter), with llama.cpp's llama metadata and
 * a tokenizer copied from a source GGUF or built from tokenizer.json. The file is produced as a
 * header followed by one tensor at a time, so a caller streams it to disk without holding it.
 *
 * This module is the export's entry; each concern is a module of its own: the types, RoPE and
 * architecture metadata (gguf-export-meta.ts), the streaming writer (gguf-export-stream.ts), the
 * tokenizer metadata (gguf-export-tokenizer.ts), the merged model (gguf-export-merge.ts) and the
 * LoRA adapter GGUF (gguf-export-lora.ts).
 */
export {
  GGUF_EXPORT_DTYPES,
  ggufRope,
  type GgufExportDtype,
  type GgufRope,
  type InvFreq,
} from './gguf-export-meta.ts';
export { streamGguf, type GgufExport, type GgufStreamTensor } from './gguf-export-stream.ts';
export { tokenizerKvs, tokenizerKvsFromHf } from './gguf-export-tokenizer.ts';
export { checkAdapterShapes, mergedGguf, type MergedGgufInput } from './gguf-export-merge.ts';
export { loraAdapterGguf } from './gguf-export-lora.ts';
