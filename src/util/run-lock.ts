/**
 * Owning a training run across tabs with the Web Locks API: the tab (worker) training a run holds an
 * exclusive lock named after it, so a second tab of the same studio cannot continue the same run and
 * can tell which runs are busy elsewhere. Where there are no Web Locks (Node: the CLI, tests) there
 * is no other tab, and every lock is granted.
 */

/** The lock name of a run. */
export function runLockName(runId: string): string {
  return `longlora-run:${runId}`;
}

/** A held run lock. */
export interface RunLock {
  release(): void;
}

interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

function lockManager(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/** Takes the run's lock if no other tab holds it (null when one does); held until released. */
export async function lockRun(runId: string): Promise<RunLock | null> {
  const locks = lockManager();
  if (!locks) return { release() {} };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const granted = await new Promise<boolean>((resolve) => {
    void locks.request(runLockName(runId), { ifAvailable: true }, async (lock) => {
      resolve(lock !== null);
      if (lock !== null) await held;
    });
  });
  return granted ? { release } : null;
}

/** The ids of runs whose lock is held now (by any tab of this origin, this one included). */
export async function lockedRuns(): Promise<string[]> {
  const locks = lockManager();
  if (!locks) return [];
  const state = await locks.query();
  const prefix = runLockName('');
  return (state.held ?? [])
    .map((l) => l.name ?? '')
    .filter((n) => n.startsWith(prefix))
    .map((n) => n.slice(prefix.length));
}
