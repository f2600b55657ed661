/**
 * Test helper (Node): llama.cpp's own loader through node-llama-cpp (prebuilt CPU binaries, one
 * thread per context: more stalls on a 2-core machine). Loads a GGUF (optionally with a LoRA
 * adapter GGUF), and gives its metadata, its tokenizer, greedy decoding and window perplexity.
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | null = null;

/** The shared llama.cpp instance (CPU only, never built from source). */
export function llamaCpp(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

/**
 * Disposes the shared instance after a test file, waiting at most `ms`: node-llama-cpp's dispose has
 * been seen to hang on a busy 2-core machine after every test of the file passed; the test worker
 * ends with the file either way, so a hang is reported and not waited out.
 */
export async function disposeLlamaCpp(ms = 20_000): Promise<void> {
  if (!llama) return;
  const l = await llama;
  llama = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const done = await Promise.race([l.dispose().then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (done === 'late')
    console.warn(`node-llama-cpp's dispose took over ${ms / 1000} s; not waited for`);
}

export interface LlamaCppRun {
  model: LlamaModel;
  metadata: Record<string, unknown>;
  /** llama.cpp's tokenization of text (no BOS). */
  tokenize(text: string): number[];
  /** Greedy tokens after `prompt` (ids, BOS included by the caller), stopping after EOS. */
  greedy(prompt: number[], maxNew: number): Promise<number[]>;
  /** Mean negative log-likelihood of window[1..] given the prefix, and exp of it. */
  perplexity(window: number[]): Promise<{ loss: number; ppl: number }>;
  /** llama.cpp's probabilities of `candidates` as the token after `prefix`. */
  nextProbabilities(prefix: number[], candidates: number[]): Promise<number[]>;
  dispose(): Promise<void>;
}

/** Flattens GGUF metadata as node-llama-cpp nests it ("llama.rope.scaling.type" → value). */
function flatten(
  o: unknown,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = o;
  return out;
}

/** Loads `file` with llama.cpp at `contextSize` (and `lora`, a LoRA adapter GGUF, at scale 1). */
export async function loadLlamaCpp(
  file: string,
  contextSize: number,
  lora?: string,
): Promise<LlamaCppRun> {
  const l = await llamaCpp();
  const model = await l.loadModel({ modelPath: file });
  const context = await model.createContext({
    contextSize,
    batchSize: contextSize,
    threads: 1,
    ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
  });
  const eos = model.tokens.eos;
  /** The context's one sequence, once the previous user's dispose has given it back (async). */
  const sequence = async () => {
    for (let i = 0; context.sequencesLeft === 0 && i < 5000; i++)
      await new Promise((r) => setTimeout(r, 1));
    return context.getSequence();
  };
  return {
    model,
    metadata: flatten(model.fileInfo.metadata),
    tokenize: (text) => [...model.tokenize(text, false)],
    async greedy(prompt, maxNew) {
      const seq = await sequence();
      try {
        const out: number[] = [];
        for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
          out.push(t);
          if (t === eos || out.length >= maxNew) break;
        }
        return out;
      } finally {
        seq.dispose();
      }
    },
    async perplexity(window) {
      const seq = await sequence();
      try {
        const res = await seq.controlledEvaluate(
          (window as Token[]).map((t, i) =>
            i < window.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t,
          ),
        );
        let nll = 0;
        for (let i = 0; i < window.length - 1; i++)
          nll -= Math.log(res[i]!.next.probabilities!.get(window[i + 1]! as Token)!);
        const loss = nll / (window.length - 1);
        return { loss, ppl: Math.exp(loss) };
      } finally {
        seq.dispose();
      }
    },
    async nextProbabilities(prefix, candidates) {
      const seq = await sequence();
      try {
        const res = await seq.controlledEvaluate(
          (prefix as Token[]).map((t, i) =>
            i === prefix.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t,
          ),
        );
        const p = res[prefix.length - 1]!.next.probabilities!;
        return candidates.map((c) => p.get(c as Token) ?? 0);
      } finally {
        seq.dispose();
      }
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}
