/** The CLI's home for kernel-tuning choices: one JSON file in the user's cache folder. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuneStore } from './kernels/autotune.ts';

/**
 * The tuning file: $LONGLORA_CACHE_DIR/autotune.json, else $XDG_CACHE_HOME/longlora-studio/…, else
 * ~/.cache/longlora-studio/autotune.json.
 */
export function tuneCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const dir =
    env.LONGLORA_CACHE_DIR ??
    join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'longlora-studio');
  return join(dir, 'autotune.json');
}

/** The choices in a tuning file; a missing file, or one that does not parse, holds none. */
function readChoices(path: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/**
 * Choices kept in a JSON object file (`fixed`, else wherever tuneCachePath() says at each access).
 * Read on every lookup (a few per shape class, once per run) so other processes' choices are seen;
 * rewritten on every new choice through a temporary file and a rename, so a crash never leaves half
 * a file. A file that does not parse is treated as empty and replaced on the next write.
 */
export function fileTuneStore(fixed?: string): TuneStore {
  const where = () => fixed ?? tuneCachePath();
  return {
    get: (key) => readChoices(where())[key],
    set: (key, choice) => {
      const path = where();
      const next = { ...readChoices(path), [key]: choice };
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(next, null, 1)}\n`);
      renameSync(tmp, path);
    },
  };
}
