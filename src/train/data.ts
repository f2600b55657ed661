/**
 * Training data: plain text (documents joined with EOS, cut into blocks of the context length) or
 * Alpaca/LongAlpaca JSON/JSONL (prompt tokens masked from the loss), with a held-out split.
 */
import { StudioError } from '../util/errors.ts';
import { IGNORE_INDEX } from '../util/labels.ts';

/** Encodes text to ids. */
export interface TextEncoder {
  encode(text: string, opts?: { addBos?: boolean }): number[];
  bosId: number;
  eosId: number;
}

/** Training data that is empty, malformed, or too short for the context. */
export class DataError extends StudioError {
  readonly kind = 'data';
}

export type DataFormat = 'text' | 'alpaca-json' | 'alpaca-jsonl';

/** One training example of exactly `context` tokens. labels[t] is the target of position t. */
export interface Block {
  ids: Uint32Array;
  labels: Int32Array;
}

export interface Dataset {
  format: DataFormat;
  documents: number;
  tokens: number;
  context: number;
  train: Block[];
  heldOut: Block[];
  /** A few lines to show the user. */
  samples: string[];
}

export interface AlpacaRecord {
  instruction: string;
  input?: string;
  output: string;
}

/** Guesses the format from the file name and content. */
export function detectFormat(name: string, text: string): DataFormat {
  const lower = name.toLowerCase();
  if (lower.endsWith('.jsonl')) return 'alpaca-jsonl';
  if (lower.endsWith('.json')) return 'alpaca-json';
  const head = text.trimStart();
  if (head.startsWith('[') && /"instruction"\s*:/.test(head.slice(0, 2000))) return 'alpaca-json';
  return 'text';
}

/** Splits plain text into documents at blank lines (TinyStories style) or keeps it whole. */
export function splitDocuments(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/** Parses Alpaca JSON (an array) or JSONL, with the line of the first bad record in the error. */
export function parseAlpaca(text: string, format: 'alpaca-json' | 'alpaca-jsonl'): AlpacaRecord[] {
  let raw: unknown[];
  if (format === 'alpaca-jsonl') {
    raw = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        raw.push(JSON.parse(line));
      } catch (e) {
        throw new DataError(`Invalid JSON on line ${i + 1}: ${(e as Error).message}`);
      }
    }
  } else {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed))
        throw new DataError('Expected a JSON array of {instruction, input, output} records.');
      raw = parsed;
    } catch (e) {
      if (e instanceof DataError) throw e;
      const m = /position (\d+)/.exec((e as Error).message);
      const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
      throw new DataError(`Invalid JSON${line ? ` at line ${line}` : ''}: ${(e as Error).message}`);
    }
  }
  return raw.map((r, i) => {
    const rec = r as Record<string, unknown>;
    for (const f of ['instruction', 'output'] as const) {
      if (typeof rec?.[f] !== 'string')
        throw new DataError(`Record ${i + 1} has no "${f}" string field.`);
    }
    if (rec.input !== undefined && typeof rec.input !== 'string') {
      throw new DataError(`Record ${i + 1}: "input" must be a string.`);
    }
    return {
      instruction: rec.instruction as string,
      input: rec.input as string | undefined,
      output: rec.output as string,
    };
  });
}

/** The LongAlpaca prompt: "[INST]{instruction}[/INST]" with the input appended when present. */
export function alpacaPrompt(r: AlpacaRecord): string {
  const body = r.input ? `${r.instruction}\n\n${r.input}` : r.instruction;
  return `[INST]${body}[/INST]`;
}

/** Cuts a token stream into blocks; labels are the next token (HF causal LM shift), last = −100. */
export function cutBlocks(ids: number[], mask: boolean[] | null, context: number): Block[] {
  const blocks: Block[] = [];
  for (let start = 0; start + context <= ids.length; start += context) {
    const bIds = new Uint32Array(ids.slice(start, start + context));
    const labels = new Int32Array(context);
    for (let t = 0; t < context; t++) {
      const next = start + t + 1;
      labels[t] = t === context - 1 || (mask && !mask[next]) ? IGNORE_INDEX : ids[next]!;
    }
    blocks.push({ ids: bIds, labels });
  }
  return blocks;
}

export interface BuildOptions {
  context: number;
  /** Fraction of blocks held out for evaluation (at least one block when there are two or more). */
  heldOutFraction?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Tokenizes a file's text into train and held-out blocks. */
export function buildDataset(
  name: string,
  text: string,
  tok: TextEncoder,
  o: BuildOptions,
): Dataset {
  if (text.trim().length === 0) throw new DataError(`${name} is empty.`);
  const format = detectFormat(name, text);
  const ids: number[] = [];
  const mask: boolean[] = [];
  let documents: number;
  const samples: string[] = [];
  if (format === 'text') {
    const docs = splitDocuments(text);
    documents = docs.length;
    samples.push(...docs.slice(0, 3).map((d) => d.slice(0, 200)));
    ids.push(tok.bosId);
    mask.push(true);
    docs.forEach((d, i) => {
      for (const id of tok.encode(d, { addBos: false })) {
        ids.push(id);
        mask.push(true);
      }
      ids.push(tok.eosId);
      mask.push(true);
      if (i % 200 === 0) o.onProgress?.(i, docs.length);
    });
  } else {
    const recs = parseAlpaca(text, format);
    if (recs.length === 0) throw new DataError(`${name} has no records.`);
    documents = recs.length;
    samples.push(...recs.slice(0, 3).map((r) => `${alpacaPrompt(r)} ${r.output}`.slice(0, 200)));
    recs.forEach((r, i) => {
      const prompt = [tok.bosId, ...tok.encode(alpacaPrompt(r), { addBos: false })];
      const target = [...tok.encode(r.output, { addBos: false }), tok.eosId];
      for (const id of prompt) {
        ids.push(id);
        mask.push(false);
      }
      for (const id of target) {
        ids.push(id);
        mask.push(true);
      }
      if (i % 200 === 0) o.onProgress?.(i, recs.length);
    });
  }
  o.onProgress?.(documents, documents);
  const blocks = cutBlocks(ids, format === 'text' ? null : mask, o.context);
  if (blocks.length === 0) {
    throw new DataError(
      `${name} has ${ids.length} tokens, fewer than one block of ${o.context}. Use more text or a smaller context.`,
    );
  }
  const frac = o.heldOutFraction ?? 0.05;
  const nHeld = blocks.length >= 2 && frac > 0 ? Math.max(1, Math.round(blocks.length * frac)) : 0;
  return {
    format,
    documents,
    tokens: ids.length,
    context: o.context,
    train: blocks.slice(0, blocks.length - nHeld),
    heldOut: blocks.slice(blocks.length - nHeld),
    samples,
  };
}
