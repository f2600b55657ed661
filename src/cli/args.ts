/** Command-line parsing helpers for `longlora`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InternalError, StudioError } from '../util/errors.ts';
import { numberProblem, ruleOfFlag } from '../util/setting-rules.ts';

/** A command line that does not parse (exit code 2). */
export class UsageError extends StudioError {
  readonly kind = 'usage';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` with the given options; unknown options are a UsageError. */
export function parse(
  argv: string[],
  options: Options,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true })
      .values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A required string option. */
export function req(v: Record<string, unknown>, name: string): string {
  const s = v[name];
  if (typeof s !== 'string' || s.length === 0) throw new UsageError(`--${name} is required`);
  return s;
}

/**
 * An optional number option, checked against its range in the settings' rule table
 * (src/util/setting-rules.ts, shared with the studio's fields): a value out of range, or not a number,
 * is a UsageError naming the flag and the range. `fallback` (the option left out) is not checked.
 */
export function num(v: Record<string, unknown>, name: string, fallback: number): number {
  const rule = ruleOfFlag(name);
  // Every numeric flag has a range; a flag missing from the table is a bug in this program.
  if (!rule) throw new InternalError(`--${name} has no range in NUMBER_RULES`);
  const s = v[name];
  if (s === undefined) return fallback;
  const text = String(s);
  const n = text.trim() === '' ? NaN : Number(text);
  const problem = numberProblem(rule, n, `--${name}`, text);
  if (problem) throw new UsageError(problem);
  return n;
}

/** A comma-separated list option. */
export function list(v: Record<string, unknown>, name: string, fallback: string[]): string[] {
  const s = v[name];
  if (typeof s !== 'string') return fallback;
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

export const s = { type: 'string' } as const;
export const b = { type: 'boolean' } as const;
