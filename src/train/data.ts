/**
 * Training data: plain text (one document unless it carries separators), `{text}` records, a JSON
 * array of token ids, or Alpaca/LongAlpaca JSON/JSONL (prompt tokens masked from the loss, rendered
 * with the model's chat template when it has one); documents are joined with EOS after the BOS the
 * tokenizer adds (none for a model without one) and cut into blocks of the context length, with a
 * held-out split.
 */
import type { ChatTemplate } from '../io/chat-template.ts';
import { describeValue } from '../io/errors.ts';
import { StudioError } from '../util/errors.ts';
import { IGNORE_INDEX } from '../util/labels.ts';

/** Encodes text to ids. */
export interface TextEncoder {
  /** Special tokens written in the text (`<|im_start|>`) become their ids. */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Undefined when the model has no BOS (Qwen). */
  bosId?: number;
  /** Whether the tokenizer puts BOS before a text (Hugging Face's rule); true when absent and bosId is set. */
  addsBos?: boolean;
  eosId: number;
  /** The EOS token as written in text (e.g. `</s>`); a line holding only it separates documents. */
  eosText?: string;
  /** Token ids must lie below this (checked for a token-id file). */
  vocabSize?: number;
  /** The model's chat template, used for instruction records. */
  chat?: ChatTemplate;
}

/** The BOS a token stream starts with: the one the tokenizer adds before a text, else none. */
export function leadingBos(tok: TextEncoder): number[] {
  return tok.bosId !== undefined && (tok.addsBos ?? true) ? [tok.bosId] : [];
}

/** Training data that is empty, malformed, or too short for the context. */
export class DataError extends StudioError {
  readonly kind = 'data';
}

/**
 * `text`: plain text; `text-json` / `text-jsonl`: records with a `text` field, one document each
 * (RedPajama, PG19); `token-ids`: a JSON array of token ids, taken as the token stream as it is;
 * `alpaca-json` / `alpaca-jsonl`: instruction records, prompt masked from the loss.
 */
export type DataFormat =
  'text' | 'text-json' | 'text-jsonl' | 'token-ids' | 'alpaca-json' | 'alpaca-jsonl';

/**
 * Where plain text is cut into documents: `none` (the whole file is one document), `eos` (at lines
 * holding only `<|endoftext|>` or the tokenizer's EOS text), `blank-line` or `line`.
 */
export type Separator = 'none' | 'blank-line' | 'line' | 'eos';
export const SEPARATORS: readonly Separator[] = ['none', 'blank-line', 'line', 'eos'];

/** One training example of exactly `context` tokens. labels[t] is the target of position t. */
export interface Block {
  ids: Uint32Array;
  labels: Int32Array;
}

/** The end of one document and the start of the next, as the user sees it. */
export interface Boundary {
  before: string;
  after: string;
}

/**
 * How an instruction record becomes tokens: `chat-template` (the model's template, a user turn and an
 * assistant turn) or `inst` (LongAlpaca's `[INST]…[/INST]`, for models without a template).
 */
export type PromptFormat = 'chat-template' | 'inst';

/** One rendered instruction record: the text whose tokens are masked and the text that is learned. */
export interface RenderedExample {
  format: PromptFormat;
  /** As the model reads it (special tokens as text); BOS is not written out. */
  prompt: string;
  answer: string;
  promptTokens: number;
  answerTokens: number;
}

export interface Dataset {
  format: DataFormat;
  /** How instruction records were rendered (null for text and token ids). */
  promptFormat: PromptFormat | null;
  /** The first record as rendered (null for text and token ids). */
  example: RenderedExample | null;
  /** How plain text was cut (null for records and token ids). */
  separator: Separator | null;
  /** What the text itself suggests (null for records and token ids). */
  detectedSeparator: Separator | null;
  documents: number;
  tokens: number;
  context: number;
  train: Block[];
  heldOut: Block[];
  /** A few lines to show the user. */
  samples: string[];
  /** The first document boundary (null when there is one document). */
  boundary: Boundary | null;
}

export interface AlpacaRecord {
  instruction: string;
  input?: string;
  output: string;
}

/** The first non-empty line of JSONL parsed, or undefined when it is not JSON. */
function firstJsonLine(text: string): unknown {
  const line = text.split('\n').find((l) => l.trim().length > 0);
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

const isTextRecord = (r: unknown): boolean =>
  typeof r === 'object' &&
  r !== null &&
  typeof (r as Record<string, unknown>).text === 'string' &&
  !('instruction' in r);

/** Guesses the format from the file name and content. */
export function detectFormat(name: string, text: string): DataFormat {
  const lower = name.toLowerCase();
  const head = text.trimStart();
  if (lower.endsWith('.jsonl'))
    return isTextRecord(firstJsonLine(text)) ? 'text-jsonl' : 'alpaca-jsonl';
  if (lower.endsWith('.json') || head.startsWith('[')) {
    if (/^\[\s*[-\d\]]/.test(head) && lower.endsWith('.json')) return 'token-ids';
    const first = head.slice(0, 2000);
    if (/^\[\s*\{/.test(head) && /"text"\s*:/.test(first) && !/"instruction"\s*:/.test(first))
      return 'text-json';
    if (lower.endsWith('.json') || /"instruction"\s*:/.test(first)) return 'alpaca-json';
  }
  return 'text';
}

/** Matches a line that holds only a document separator token. */
function eosLine(eosText: string | undefined): RegExp {
  const names = ['<|endoftext|>', ...(eosText ? [eosText] : [])];
  const alt = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return new RegExp(`^[ \\t]*(?:${alt})[ \\t\\r]*$`, 'm');
}

/** `eos` when a line holds only `<|endoftext|>` or the EOS text, else `none` (the file is one document). */
export function detectSeparator(text: string, eosText?: string): Separator {
  return eosLine(eosText).test(text) ? 'eos' : 'none';
}

/** Cuts plain text into documents (trimmed, empty ones dropped). */
export function splitDocuments(text: string, separator: Separator, eosText?: string): string[] {
  let parts: string[];
  if (separator === 'none') parts = [text];
  else if (separator === 'line') parts = text.split(/\r?\n/);
  else if (separator === 'blank-line') parts = text.split(/\r?\n[ \t\r]*\n/);
  else parts = text.split(new RegExp(eosLine(eosText).source, 'gm'));
  return parts.map((d) => d.trim()).filter((d) => d.length > 0);
}

/** Parses a JSON array or JSONL into raw values, with the line of invalid JSON in the error. */
function parseJsonValues(text: string, jsonl: boolean, expected: string): unknown[] {
  if (jsonl) {
    const raw: unknown[] = [];
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
    return raw;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
    throw new DataError(`Invalid JSON${line ? ` at line ${line}` : ''}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new DataError(`Expected a JSON array of ${expected}.`);
  return parsed;
}

/** Parses Alpaca JSON (an array) or JSONL, with the line of the first bad record in the error. */
export function parseAlpaca(text: string, format: 'alpaca-json' | 'alpaca-jsonl'): AlpacaRecord[] {
  const raw = parseJsonValues(
    text,
    format === 'alpaca-jsonl',
    '{instruction, input, output} records (or of {text} records, or of token ids)',
  );
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

/** Parses records with a `text` field (JSON array or JSONL): one document each. */
export function parseTextRecords(text: string, format: 'text-json' | 'text-jsonl'): string[] {
  const raw = parseJsonValues(text, format === 'text-jsonl', '{text} records');
  return raw.map((r, i) => {
    const t = (r as Record<string, unknown> | null)?.text;
    if (typeof t !== 'string') throw new DataError(`Record ${i + 1} has no "text" string field.`);
    return t;
  });
}

/** Parses a JSON array of token ids, each an integer in [0, vocabSize). */
export function parseTokenIds(text: string, vocabSize: number | undefined): number[] {
  const raw = parseJsonValues(text, false, 'token ids');
  const range = vocabSize ? ` from 0 to ${vocabSize - 1}` : '';
  raw.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      throw new DataError(
        `Element ${i + 1} of the token ids is ${describeValue(id)}, not a token id (an integer${range}).`,
      );
    if (vocabSize !== undefined && id >= vocabSize)
      throw new DataError(
        `Token id ${id} (element ${i + 1}) is outside the vocabulary of ${vocabSize} ids (0 to ${vocabSize - 1}).`,
      );
  });
  return raw as number[];
}

/** The LongAlpaca prompt: "[INST]{instruction}[/INST]" with the input appended when present. */
export function alpacaPrompt(r: AlpacaRecord): string {
  return `[INST]${alpacaUserText(r)}[/INST]`;
}

/** The user turn of a record: the instruction, then `\n\n` and the input when there is one. */
export function alpacaUserText(r: AlpacaRecord): string {
  return r.input ? `${r.instruction}\n\n${r.input}` : r.instruction;
}

/**
 * A record through a chat template: `prompt` is the user turn rendered with add_generation_prompt
 * (it ends where the assistant's answer begins), `answer` what the full conversation adds after it.
 * A template whose full rendering does not start with the prompt is a DataError.
 */
export function chatTurns(chat: ChatTemplate, r: AlpacaRecord): { prompt: string; answer: string } {
  const user = { role: 'user' as const, content: alpacaUserText(r) };
  const prompt = chat.render([user], true);
  const full = chat.render([user, { role: 'assistant', content: r.output }], false);
  if (!full.startsWith(prompt))
    throw new DataError(
      `The model's chat template does not render the prompt as the start of the conversation, so the prompt cannot be masked from the loss (prompt ${JSON.stringify(prompt.slice(-60))}, conversation ${JSON.stringify(full.slice(0, prompt.length + 20).slice(-80))}). Train without the template (--chat-template none).`,
    );
  return { prompt, answer: full.slice(prompt.length) };
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
  /** Exactly this many blocks (the last ones) held out; overrides heldOutFraction. 0 allowed. */
  heldOutBlocks?: number;
  /** How plain text is cut into documents; detected from the text when absent. */
  separator?: Separator;
  /** Token ids must lie below this (a token-id file); the tokenizer's vocabSize when absent. */
  vocabSize?: number;
  /** Instruction records through the model's chat template (default true; false: `[INST]`). */
  chatTemplate?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const PREVIEW = 80;

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
  let separator: Separator | null = null;
  let detectedSeparator: Separator | null = null;
  let boundary: Boundary | null = null;
  let promptFormat: PromptFormat | null = null;
  let example: RenderedExample | null = null;
  const bos = leadingBos(tok);
  if (format === 'text' || format === 'text-json' || format === 'text-jsonl') {
    let docs: string[];
    if (format === 'text') {
      detectedSeparator = detectSeparator(text, tok.eosText);
      separator = o.separator ?? detectedSeparator;
      docs = splitDocuments(text, separator, tok.eosText);
    } else {
      docs = parseTextRecords(text, format).filter((d) => d.trim().length > 0);
    }
    if (docs.length === 0) throw new DataError(`${name} has no text.`);
    documents = docs.length;
    if (docs.length > 1)
      boundary = { before: docs[0]!.slice(-PREVIEW), after: docs[1]!.slice(0, PREVIEW) };
    samples.push(...docs.slice(0, 3).map((d) => d.slice(0, 200)));
    ids.push(...bos);
    docs.forEach((d, i) => {
      for (const id of tok.encode(d, { addBos: false })) ids.push(id);
      ids.push(tok.eosId);
      if (i % 200 === 0) o.onProgress?.(i, docs.length);
    });
  } else if (format === 'token-ids') {
    ids.push(...parseTokenIds(text, o.vocabSize ?? tok.vocabSize));
    if (ids.length === 0) throw new DataError(`${name} is an empty array of token ids.`);
    documents = 1;
  } else {
    const recs = parseAlpaca(text, format);
    if (recs.length === 0) throw new DataError(`${name} has no records.`);
    documents = recs.length;
    const chat = o.chatTemplate === false ? undefined : tok.chat;
    promptFormat = chat ? 'chat-template' : 'inst';
    // Chat template: the rendered prompt's tokens are masked, the rest of the conversation (the
    // answer and the template's end of turn) is learned; the template writes any BOS it wants.
    // [INST]: BOS (when the tokenizer adds one) + prompt masked, answer + EOS learned.
    const render = (r: AlpacaRecord) => {
      if (chat) {
        const t = chatTurns(chat, r);
        return {
          promptText: t.prompt,
          answerText: t.answer,
          prompt: tok.encode(t.prompt, { addBos: false }),
          target: tok.encode(t.answer, { addBos: false }),
        };
      }
      return {
        promptText: alpacaPrompt(r),
        answerText: `${r.output}${tok.eosText ?? ''}`,
        prompt: [...bos, ...tok.encode(alpacaPrompt(r), { addBos: false })],
        target: [...tok.encode(r.output, { addBos: false }), tok.eosId],
      };
    };
    recs.forEach((r, i) => {
      const { promptText, answerText, prompt, target } = render(r);
      if (i < 3) samples.push(`${promptText}${answerText}`.slice(0, 200));
      if (i === 0)
        example = {
          format: chat ? 'chat-template' : 'inst',
          prompt: promptText,
          answer: answerText,
          promptTokens: prompt.length,
          answerTokens: target.length,
        };
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
  const masked = format === 'alpaca-json' || format === 'alpaca-jsonl';
  const blocks = cutBlocks(ids, masked ? mask : null, o.context);
  if (blocks.length === 0) {
    throw new DataError(
      `${name} has ${ids.length} tokens, fewer than one block of ${o.context}. Use more text or a smaller context.`,
    );
  }
  let nHeld: number;
  if (o.heldOutBlocks !== undefined) {
    nHeld = o.heldOutBlocks;
    if (!Number.isInteger(nHeld) || nHeld < 0 || nHeld >= blocks.length)
      throw new DataError(
        `Cannot hold out ${nHeld} of ${blocks.length} blocks of ${o.context}: at least one must be left to train on.`,
      );
  } else {
    const frac = o.heldOutFraction ?? 0.05;
    nHeld = blocks.length >= 2 && frac > 0 ? Math.max(1, Math.round(blocks.length * frac)) : 0;
  }
  return {
    format,
    promptFormat,
    example,
    separator,
    detectedSeparator,
    documents,
    tokens: ids.length,
    context: o.context,
    train: blocks.slice(0, blocks.length - nHeld),
    heldOut: blocks.slice(blocks.length - nHeld),
    samples,
    boundary,
  };
}
