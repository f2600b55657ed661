/** One-shot engine actions (evaluate, passkey, generate, export) with their errors described. */
import type {
  EvalResult,
  ExportedFile,
  GgufExportOptions,
  GgufExportResult,
  PasskeyResult,
} from '../worker/protocol.ts';
import { Comlink, getEngine } from './engine-client.ts';
import { describeError, type ShownError } from './errors.ts';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ShownError };

async function attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: describeError(e) };
  }
}

/** Perplexity over held-out data at `context` (full attention). */
export const evaluatePerplexity = (context: number): Promise<Outcome<EvalResult>> =>
  attempt(() => getEngine().evaluate(context));

/** One passkey trial at `length` tokens. */
export const runPasskey = (length: number, seed: number): Promise<Outcome<PasskeyResult>> =>
  attempt(() => getEngine().passkey(length, seed));

/** Generates from `prompt`, streaming text to `onToken`. */
export const generateText = (
  prompt: string,
  maxTokens: number,
  onToken: (t: string) => void,
): Promise<Outcome<string>> =>
  attempt(() => getEngine().generate(prompt, maxTokens, Comlink.proxy(onToken)));

/** Saves a .zip the worker built through a download link. */
function saveZip(file: ExportedFile): void {
  const url = URL.createObjectURL(
    new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Builds the adapter .zip in the worker and saves it through a download link. */
export async function downloadAdapter(merged: boolean): Promise<Outcome<ExportedFile>> {
  const r = await attempt(() => getEngine().exportAdapter({ merged }));
  if (r.ok) saveZip(r.value);
  return r;
}

/**
 * The adapter .zip of a committed checkpoint, read from storage (works in a second tab while the
 * run trains in another: its lock is not taken), saved through a download link.
 */
export async function downloadCheckpoint(id: string): Promise<Outcome<ExportedFile>> {
  const r = await attempt(() => getEngine().exportCheckpoint(id, { merged: false }));
  if (r.ok) saveZip(r.value);
  return r;
}

/** Where an exported GGUF goes: a file the user picked (File System Access API) or a download. */
interface GgufSink {
  write(chunk: Uint8Array): Promise<void>;
  finish(name: string): Promise<void>;
  abort(): Promise<void>;
}

interface SaveFilePicker {
  showSaveFilePicker?: (o: {
    suggestedName: string;
    types: { description: string; accept: Record<string, string[]> }[];
  }) => Promise<{
    createWritable(): Promise<{
      write(d: Uint8Array): Promise<void>;
      close(): Promise<void>;
      abort(): Promise<void>;
    }>;
  }>;
}

/**
 * Opens where the GGUF will go. With the File System Access API the user picks a file and the
 * chunks are written to disk as they come. Otherwise each chunk becomes a Blob part (Blob parts
 * are the browser's to keep, and Chromium moves large ones to disk) and the file is downloaded at
 * the end; no single buffer of the whole file is built either way. Null when the user cancelled.
 */
async function openGgufSink(suggestedName: string): Promise<GgufSink | null> {
  const picker = (window as unknown as SaveFilePicker).showSaveFilePicker;
  if (picker) {
    let handle;
    try {
      handle = await picker({
        suggestedName,
        types: [{ description: 'GGUF model', accept: { 'application/octet-stream': ['.gguf'] } }],
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError') return null;
      throw e;
    }
    const w = await handle.createWritable();
    return { write: (c) => w.write(c), finish: () => w.close(), abort: () => w.abort() };
  }
  const parts: Blob[] = [];
  return {
    write: (c) => {
      parts.push(new Blob([c as Uint8Array<ArrayBuffer>]));
      return Promise.resolve();
    },
    finish: (name) => {
      const url = URL.createObjectURL(new Blob(parts, { type: 'application/octet-stream' }));
      parts.length = 0;
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return Promise.resolve();
    },
    abort: () => {
      parts.length = 0;
      return Promise.resolve();
    },
  };
}

/**
 * Streams the trained run as a GGUF from the worker to disk (see openGgufSink); `onProgress` gets
 * the bytes written and the total. `ok` with null when the user cancelled the file picker.
 */
export async function exportGguf(
  options: GgufExportOptions,
  suggestedName: string,
  onProgress: (written: number, total: number) => void,
): Promise<Outcome<GgufExportResult | null>> {
  return attempt(async () => {
    const sink = await openGgufSink(suggestedName);
    if (!sink) return null;
    try {
      const r = await getEngine().exportGguf(
        options,
        Comlink.proxy((chunk: Uint8Array) => sink.write(chunk)),
        Comlink.proxy(onProgress),
      );
      await sink.finish(r.name);
      return r;
    } catch (e) {
      await sink.abort();
      throw e;
    }
  });
}
