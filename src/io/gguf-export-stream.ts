/**
 * The GGUF export's streaming writer: a planned file (its header, its tensors in order, each
 * produced when it is written) written chunk by chunk, so a caller streams it to disk without
 * holding it.
 */
import { ggufHeader, ggufPadding, type GgufKv } from './gguf-writer.ts';
import { InternalError } from '../util/errors.ts';

/** One tensor of the file, produced when it is written. */
export interface GgufStreamTensor {
  name: string;
  dims: number[];
  type: number;
  byteLength: number;
  produce(): Promise<Uint8Array>;
}

/** A GGUF ready to stream: its header, its tensors in order and its total size. */
export interface GgufExport {
  header: Uint8Array;
  tensors: GgufStreamTensor[];
  fileBytes: number;
  alignment: number;
}

const ALIGNMENT = 32;

/** A GGUF of these metadata and tensors, ready to stream. */
export function planExport(kvs: GgufKv[], tensors: GgufStreamTensor[]): GgufExport {
  const { header, fileBytes } = ggufHeader(kvs, tensors, ALIGNMENT);
  return { header, tensors, fileBytes, alignment: ALIGNMENT };
}

/**
 * Writes a planned GGUF through `write` chunk by chunk (the header, then each tensor and its
 * padding); `onProgress` gets the bytes written so far and the total.
 */
export async function streamGguf(
  exp: GgufExport,
  write: (chunk: Uint8Array) => Promise<void>,
  onProgress?: (written: number, total: number) => void,
): Promise<void> {
  let done = 0;
  const emit = async (b: Uint8Array) => {
    // The length first: `write` may transfer (detach) the chunk's buffer.
    const n = b.length;
    if (!n) return;
    await write(b);
    done += n;
    onProgress?.(done, exp.fileBytes);
  };
  await emit(exp.header);
  for (const t of exp.tensors) {
    const data = await t.produce();
    const n = data.length;
    if (n !== t.byteLength)
      throw new InternalError(`GGUF export: "${t.name}" produced ${n} bytes, not ${t.byteLength}`);
    await emit(data);
    await emit(ggufPadding(n, exp.alignment));
  }
  if (done !== exp.fileBytes)
    throw new InternalError(`GGUF export wrote ${done} bytes, expected ${exp.fileBytes}`);
}
