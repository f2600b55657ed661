/** Command-line parsing helpers for `longlora`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StudioError } from '../util/errors.ts';

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

/** An optional number option (integer when `int`). */
export function num(
  v: Record<string, unknown>,
  name: string,
  fallback: number,
  int = false,
): number {
  const s = v[name];
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${int ? 'an integer' : 'a number'} (got ${String(s)})`);
  }
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
