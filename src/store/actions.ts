/** One-shot engine actions (evaluate, passkey, generate, export) with their errors described. */
import type { EvalResult, ExportedFile, PasskeyResult } from '../worker/protocol.ts';
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

/** Builds the adapter .zip in the worker and saves it through a download link. */
export async function downloadAdapter(merged: boolean): Promise<Outcome<ExportedFile>> {
  const r = await attempt(() => getEngine().exportAdapter({ merged }));
  if (r.ok) {
    const url = URL.createObjectURL(
      new Blob([r.value.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
    );
    const a = document.createElement('a');
    a.href = url;
    a.download = r.value.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return r;
}
