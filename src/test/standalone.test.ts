/**
 * The repository stands on its own: no tracked file reads from the sibling `shared` folder (a clone
 * has none; the demo model and text live in public/demo/) or cites a design document the repository
 * does not hold (docs/longlora.md is the project's own summary).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const self = 'src/test/standalone.test.ts';
// Built from pieces so this file does not match itself: a relative path into the sibling folder,
// the same built with path.join segments ('..', 'shared', 'assets'), and the outside design document.
const NEEDLES = ['..' + '/shared', 'DESIGN' + '.md'];
const SEGMENTS = new RegExp(`['"]${'sha' + 'red'}['"]\\s*,\\s*['"]assets['"]`, 'g');
const SKIP = new Set(['package-lock.json', self]);

/** 1-based numbers of the lines of `text` that contain a needle (path segments may span lines). */
function matchingLines(text: string): number[] {
  const out = new Set<number>();
  text.split('\n').forEach((line, i) => {
    if (NEEDLES.some((n) => line.includes(n))) out.add(i + 1);
  });
  for (const m of text.matchAll(SEGMENTS)) out.add(text.slice(0, m.index).split('\n').length);
  return [...out].sort((a, b) => a - b);
}

/** `file:line: text` for every line of a tracked text file that contains a needle. */
function offenders(): string[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !SKIP.has(f));
  const found: string[] = [];
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(root + f);
    } catch {
      continue; // listed in the index but deleted in the working tree
    }
    if (bytes.includes(0)) continue; // binary (weights, images)
    const lines = bytes.toString('utf8').split('\n');
    for (const n of matchingLines(bytes.toString('utf8'))) {
      found.push(`${f}:${n}: ${lines[n - 1]!.trim()}`);
    }
  }
  return found;
}

describe('the repository stands on its own', () => {
  it('flags the lines that read a sibling folder or cite the outside design document', () => {
    const text = [
      'const model = "public/demo";',
      `const ASSETS = '${NEEDLES[0]}/assets';`,
      'ok',
      `see ${NEEDLES[1]} for the facts`,
      `const STORIES = join(ROOT, '..', '${'sha' + 'red'}', 'assets', 'stories260K');`,
      `const DIR = join(\n  '..',\n  '${'sha' + 'red'}',\n  'assets',\n);`,
    ].join('\n');
    expect(matchingLines(text)).toEqual([2, 4, 5, 8]);
    expect(matchingLines('docs/longlora.md and public/demo/config.json')).toEqual([]);
  });

  it('lists tracked files to check', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' });
    expect(files).toContain('public/demo/model.safetensors');
    expect(files).toContain('docs/longlora.md');
  });

  it('no tracked file reads the sibling shared folder or cites a design document outside the repository', () => {
    expect(offenders()).toEqual([]);
  });
});
