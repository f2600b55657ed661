/** Test helper (Node): runs `longlora` commands in-process, capturing what they print to stdout. */
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../cli/main.ts';

/**
 * Installs per-test console capture (stderr is silenced) and returns `run`, which runs a command
 * line, throws when it exits non-zero, and returns its stdout.
 */
export function cliRunner(): (...argv: string[]) => Promise<string> {
  let out: string[] = [];
  beforeEach(() => {
    out = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());
  return async (...argv) => {
    out = [];
    const code = await main(argv);
    if (code !== 0) throw new Error(`longlora ${argv.join(' ')} exited ${code}`);
    return out.join('\n');
  };
}
