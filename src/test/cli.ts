/** Test helper (Node): runs `longlora` commands in-process, capturing what they print to stdout. */
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../cli/main.ts';

/**
 * Installs per-test console capture (stderr is kept, not printed) and returns `run`, which runs a
 * command line, throws when it exits non-zero, and returns its stdout; `run.stderr()` is what the
 * last command wrote to stderr (its progress log).
 */
export function cliRunner(): ((...argv: string[]) => Promise<string>) & { stderr: () => string } {
  let out: string[] = [];
  let err: string[] = [];
  beforeEach(() => {
    out = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  const run = async (...argv: string[]) => {
    out = [];
    err = [];
    const code = await main(argv);
    if (code !== 0) throw new Error(`longlora ${argv.join(' ')} exited ${code}`);
    return out.join('\n');
  };
  return Object.assign(run, { stderr: () => err.join('') });
}
