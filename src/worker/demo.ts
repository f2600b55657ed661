/** The embedded demo (stories260K + a TinyStories sample), fetched from the page's own origin. */
import { bytesSource, type ByteSource } from '../io/source.ts';
import { NetworkError } from '../util/errors.ts';
import type { LoadProgress } from './protocol.ts';

/** The demo model's files, as an HF folder. */
export const DEMO_MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'model.safetensors',
];
export const DEMO_DATA_FILE = 'tinystories-197k.txt';

function demoUrl(file: string): string {
  return new URL(`${import.meta.env.BASE_URL}demo/${file}`, self.location.href).href;
}

/** Fetches demo files (same origin only) with byte progress. */
export async function fetchDemo(
  files: string[],
  phase: LoadProgress['phase'],
  onProgress: (p: LoadProgress) => void,
): Promise<ByteSource[]> {
  const out: ByteSource[] = [];
  let done = 0;
  const sizes = await Promise.all(
    files.map(async (f) => {
      const r = await fetch(demoUrl(f), { method: 'HEAD' });
      return Number(r.headers.get('content-length') ?? 0);
    }),
  );
  const total = sizes.reduce((a, b) => a + b, 0);
  for (const [i, f] of files.entries()) {
    const r = await fetch(demoUrl(f));
    if (!r.ok) throw new NetworkError(`The demo file ${f} could not be loaded (HTTP ${r.status}).`);
    const bytes = new Uint8Array(await r.arrayBuffer());
    done += bytes.length;
    out.push(bytesSource(f, bytes));
    onProgress({
      phase,
      bytesDone: done,
      bytesTotal: Math.max(total, done),
      shardsDone: i + 1,
      shardsTotal: files.length,
      file: f,
    });
  }
  return out;
}
