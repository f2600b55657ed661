/** Shared types of the benchmark harness: every `bench/*.bench.ts` module exports `run`. */
import type { Runtime } from '../src/engine/runtime.ts';

/** Progress output (shown on the page and forwarded to the terminal by bench/bench.mjs). */
export type Log = (line: string) => void;

/** Sections a bench module returns; the page concatenates each section across modules. */
export type BenchSections = Record<string, unknown[]>;

/** What a bench module exports. */
export interface BenchModule {
  run(rt: Runtime, log: Log): Promise<BenchSections>;
}

/** One row of the `matmul` section: C[m, n] = A[m, k] · B[n, k]ᵀ. */
export interface MatmulRow {
  m: number;
  n: number;
  k: number;
  /** `<kernel>:<weight dtype>`, e.g. `direct:bf16`. */
  variant: string;
  ms: number;
  gflops: number;
  /** tfjs-backend-webgpu's f32 matMul(a, b, false, true) at the same shape on the same adapter. */
  tfjs_ms: number | null;
}

/** The whole bench/results.json. */
export interface BenchResults {
  adapter: string;
  date: string;
  matmul: MatmulRow[];
  attention: unknown[];
  [section: string]: unknown;
}
