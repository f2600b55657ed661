/**
 * The valid range of every numeric setting a person enters, in the studio's fields or as a `longlora`
 * flag: one table, read by both, so a value is refused where it is entered, with the same words (the
 * field's label in the studio, the flag in the CLI) and the range it must fall in. What a value means
 * together with others (an S²-Attn group dividing the context, a plan fitting memory) is checked by
 * the plan; this table is about each number alone.
 */

/** The range one numeric setting may take. */
export interface NumberRule {
  /** The studio's label for it. */
  label: string;
  min: number;
  max: number;
  /** Whether `min` itself is refused (a learning rate above 0). */
  minExclusive?: boolean;
  /** Whole numbers only. */
  integer: boolean;
}

const MAX_STEPS = 10_000_000;
const MAX_CONTEXT = 1 << 20;

/**
 * Every numeric setting, by its key: a RunSettings key (src/train/settings.ts) or another CLI option;
 * its flag is the key in kebab-case (`gradAccum` is `--grad-accum`).
 */
export const NUMBER_RULES = {
  context: {
    label: 'Target context',
    min: 2,
    max: MAX_CONTEXT,
    integer: true,
  },
  steps: { label: 'Steps', min: 1, max: MAX_STEPS, integer: true },
  rank: { label: 'LoRA rank', min: 1, max: 1024, integer: true },
  alpha: {
    label: 'LoRA alpha',
    min: 0,
    minExclusive: true,
    max: 65_536,
    integer: false,
  },
  lr: {
    label: 'Learning rate',
    min: 0,
    minExclusive: true,
    max: 1,
    integer: false,
  },
  warmup: { label: 'Warmup', min: 0, max: MAX_STEPS, integer: true },
  gradAccum: {
    label: 'Gradient accumulation',
    min: 1,
    max: 4096,
    integer: true,
  },
  evalEvery: {
    label: 'Evaluate every',
    min: 0,
    max: MAX_STEPS,
    integer: true,
  },
  checkpointEvery: {
    label: 'Checkpoint every',
    min: 0,
    max: MAX_STEPS,
    integer: true,
  },
  checkpointMinutes: {
    label: 'Checkpoint minutes',
    min: 0,
    max: 24 * 60,
    integer: false,
  },
  keepCheckpoints: {
    label: 'Keep checkpoints',
    min: 0,
    max: 10_000,
    integer: true,
  },
  seed: { label: 'Seed', min: 0, max: 2 ** 32 - 1, integer: true },
  groupSize: { label: 'Group size', min: 2, max: MAX_CONTEXT, integer: true },
  ropeFactor: { label: 'RoPE factor', min: 1, max: 1024, integer: false },
  clip: { label: 'Gradient clip', min: 0, max: 1e6, integer: false },
  evalWindows: { label: 'Eval windows', min: 1, max: 1e6, integer: true },
  maxWindows: { label: 'Max windows', min: 1, max: 1e9, integer: true },
  stride: { label: 'Stride', min: 1, max: MAX_CONTEXT, integer: true },
  holdoutBlocks: {
    label: 'Held-out blocks',
    min: 0,
    max: 1e9,
    integer: true,
  },
  maxNewTokens: {
    label: 'New tokens',
    min: 1,
    max: MAX_CONTEXT,
    integer: true,
  },
  temperature: { label: 'Temperature', min: 0, max: 100, integer: false },
  topP: { label: 'Top-p', min: 0, minExclusive: true, max: 1, integer: false },
  passkeyLength: {
    label: 'Passkey length',
    min: 64,
    max: MAX_CONTEXT,
    integer: true,
  },
  maxBindingSize: {
    label: 'Binding size cap',
    min: 4,
    max: 2 ** 40,
    integer: true,
  },
  maxBufferSize: {
    label: 'Buffer size cap',
    min: 4,
    max: 2 ** 40,
    integer: true,
  },
} as const satisfies Record<string, NumberRule>;

export type NumberSetting = keyof typeof NUMBER_RULES;

/** A setting's CLI flag (without its dashes): its key in kebab-case. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The rule of a CLI flag (without dashes), or undefined when the flag is not a number. */
export function ruleOfFlag(flag: string): NumberRule | undefined {
  const key = Object.keys(NUMBER_RULES).find((k) => flagOf(k) === flag) as
    NumberSetting | undefined;
  return key && NUMBER_RULES[key];
}

const count = (n: number) => n.toLocaleString('en-US');

/** "a whole number from 1 to 1,024", "a number above 0, at most 1". */
export function rangeText(r: NumberRule): string {
  const what = r.integer ? 'a whole number' : 'a number';
  if (r.minExclusive) return `${what} above ${count(r.min)}, at most ${count(r.max)}`;
  return `${what} from ${count(r.min)} to ${count(r.max)}`;
}

/** Whether `v` is within the rule's range. */
export function inRange(r: NumberRule, v: number): boolean {
  return (
    Number.isFinite(v) &&
    (!r.integer || Number.isInteger(v)) &&
    (r.minExclusive ? v > r.min : v >= r.min) &&
    v <= r.max
  );
}

/**
 * Why `v` cannot be this setting, or null when it can. `who` names it as the person sees it: the
 * field's label (default) or, on the command line, `--flag`. `raw` is what was typed, when not `v`.
 */
export function numberProblem(
  r: NumberRule,
  v: number,
  who: string = r.label,
  raw: string = String(v),
): string | null {
  if (inRange(r, v)) return null;
  if (Number.isNaN(v) && raw.trim() === '') return `${who} is empty: enter ${rangeText(r)}.`;
  return `${who} must be ${rangeText(r)} (got ${raw}).`;
}

/**
 * The problem of each numeric setting in `values` that has one, by key: every key of NUMBER_RULES
 * that `values` holds as a number (other keys are not numbers with a range, and are skipped).
 */
export function numberProblems(values: object): Partial<Record<NumberSetting, string>> {
  const out: Partial<Record<NumberSetting, string>> = {};
  const o = values as Record<string, unknown>;
  for (const k of Object.keys(NUMBER_RULES) as NumberSetting[]) {
    const v = o[k];
    if (typeof v !== 'number') continue;
    const p = numberProblem(
      NUMBER_RULES[k],
      v,
      NUMBER_RULES[k].label,
      Number.isNaN(v) ? '' : String(v),
    );
    if (p) out[k] = p;
  }
  return out;
}

/** The first of `numberProblems(values)`, or null when every number is in range. */
export function firstNumberProblem(values: object): string | null {
  return Object.values(numberProblems(values))[0] ?? null;
}
