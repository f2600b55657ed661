/**
 * What `longlora` prints on stderr as a user runs it (bin/longlora.mjs in its own process): the GPU
 * driver stack's own messages (Dawn, the Vulkan loader, Mesa), which native code writes to file
 * descriptor 2, are hidden; `--verbose` shows them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR } from '../test/assets-node.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The environment a user's shell gives: no SwiftShader chosen for Dawn, no child marker. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.VK_ICD_FILENAMES;
  delete env.LONGLORA_FILTERED_CHILD;
  return env;
}

/** Runs `node bin/longlora.mjs …` from the repository root. */
function longlora(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/longlora.mjs'), ...argv], {
    cwd: ROOT,
    env: userEnv(),
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines of `text` that come from the driver stack rather than from longlora. */
function driverLines(text: string): string[] {
  return text.split('\n').filter((l) => /XDG_RUNTIME_DIR|Vulkan|Warning:|[/\\]dawn[/\\]/.test(l));
}

describe('longlora on stderr: only its own lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'longlora-stderr-'));
  const data = join(dir, 'story.txt');
  writeFileSync(data, readFileSync(join(DEMO_DIR, 'tinystories-197k.txt'), 'utf8').slice(0, 4000));
  const trainArgs = (out: string) => [
    'train',
    ...['--model', DEMO_DIR, '--data', data, '--out', join(dir, out)],
    ...['--context', '64', '--steps', '1', '--holdout-blocks', '0', '--no-tune'],
  ];

  it('train: no Dawn/Vulkan lines, its own progress intact', () => {
    const r = longlora(...trainArgs('quiet'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('XDG_RUNTIME_DIR');
    expect(r.stderr).not.toContain('Vulkan');
    expect(r.stderr).not.toContain('Warning:');
    expect(driverLines(r.stderr)).toEqual([]);
    expect(r.stderr).toMatch(/^GPU: /m);
    expect(r.stderr).toMatch(/^done: adapter written to /m);
    expect(r.stdout + r.stderr).toMatch(/step 1\/1 loss \d/);
  }, 300_000);

  it('--verbose (any position) lets the driver lines through where the driver prints them', () => {
    // What the driver stack prints on this machine when Node acquires the GPU as the CLI does.
    const probe = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const { acquireNodeGpu } = await import('./src/engine/node-host.ts'); await acquireNodeGpu(); process.exit(0);",
      ],
      { cwd: ROOT, env: userEnv(), encoding: 'utf8', timeout: 120_000 },
    );
    expect(probe.status, probe.stderr).toBe(0);
    const expected = [...new Set(driverLines(probe.stderr))];
    const r = longlora('--verbose', ...trainArgs('verbose'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^done: adapter written to /m);
    for (const line of expected) expect(r.stderr).toContain(line);
    // And the flag is not mistaken for a command's option, wherever it stands.
    const info = longlora('info', '--model', DEMO_DIR, '--verbose');
    expect(info.status, info.stderr).toBe(0);
    for (const line of expected) expect(info.stderr).toContain(line);
  }, 300_000);

  it('--help documents --verbose', () => {
    const r = longlora('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--verbose/);
  });
});
