/**
 * Soak benchmark (issue #12): `--steps` training steps of the demo in Node (default 500) and
 * `--browser-steps` in headless Chromium (default 200), at 64 tokens, through the studio's engine
 * (StudioEngine, the worker's own code), with a pause/resume every 50 steps, an evaluation every 25
 * and a checkpoint every 20 kept to 3 (bench/soak-loop.ts). Every step it samples live GPU tensors,
 * GPU bytes per category, the JS heap after a forced garbage collection (in Node without its code
 * space: see dataHeap), and the checkpoints'
 * storage: the checkpoint folder's bytes in Node, IndexedDB's usage (navigator.storage.estimate) in
 * Chromium. Writes bench/soak.json (a part not run keeps its previous result) and prints a table.
 *
 *   npx tsx bench/soak.ts [--steps 500] [--browser-steps 200] [--context 64] [--out bench/soak.json]
 *
 * `--steps 0` or `--browser-steps 0` skips that part (a quick check: `--steps 40 --browser-steps 0`).
 * On a shared machine run the Chromium part under `flock /tmp/browser.lock`.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNodeRuntime } from '../src/engine/node-host.ts';
import { bytesSource } from '../src/io/source.ts';
import { CheckpointStore } from '../src/train/checkpoint.ts';
import { FolderBlobStore } from '../src/train/store-node.ts';
import { StudioEngine } from '../src/worker/studio-engine.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { runSoak, SOAK_DEFAULTS, type SoakOptions, type SoakResult } from './soak-loop.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    'browser-steps': { type: 'string', default: '200' },
    context: { type: 'string', default: String(SOAK_DEFAULTS.context) },
    out: { type: 'string', default: 'bench/soak.json' },
  },
});
const options = (steps: number): SoakOptions => ({
  ...SOAK_DEFAULTS,
  steps,
  context: Number(values.context),
});

function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? folderBytes(p) : statSync(p).size;
  }
  return n;
}

/**
 * The JS heap holding data: every V8 space but the code space. Compiled code grows for a while as
 * V8 optimizes the loop's functions (a heap-snapshot diff of steps 30 and 130 of this soak: +540 KB,
 * three quarters of it code, deopt data and relocation info); that is not memory the run holds.
 */
function dataHeap(): number {
  return getHeapSpaceStatistics()
    .filter((s) => s.space_name !== 'code_space' && s.space_name !== 'code_large_object_space')
    .reduce((n, s) => n + s.space_used_size, 0);
}

/** Node's garbage collector, made callable without --expose-gc. */
function nodeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Merges `part` into the results file (the other part's result is kept). */
function save(name: 'node' | 'chromium', part: SoakResult): void {
  const out = resolve(ROOT, values.out!);
  const prev = existsSync(out)
    ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, SoakResult>)
    : {};
  writeFileSync(out, JSON.stringify({ ...prev, [name]: part }, null, 1) + '\n');
}

async function nodePart(steps: number): Promise<SoakResult> {
  // Dawn's pending GPU work does not keep Node's event loop alive by itself.
  const keepAlive = setInterval(() => {}, 1000);
  const dir = mkdtempSync(join(tmpdir(), 'soak-'));
  try {
    const rtP = createNodeRuntime((m) => console.error(m));
    const rt = await rtP;
    const engine = new StudioEngine(() => rtP, new CheckpointStore(new FolderBlobStore(dir)));
    const gc = nodeGc();
    const demo = async (f: string) =>
      bytesSource(f, new Uint8Array(readFileSync(join(ROOT, 'public/demo', f))));
    const host = {
      rt,
      engine,
      forcedGc: true,
      heap() {
        const before = dataHeap();
        gc();
        return { before, after: dataHeap() };
      },
      storage: async () => folderBytes(dir),
      log: (l: string) => console.error(`[node] ${l}`),
    };
    const r = await runSoak(host, demo, `Node + Dawn (${rt.info.name})`, options(steps), (p) =>
      save('node', p),
    );
    rt.destroy();
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    clearInterval(keepAlive);
  }
}

async function browserPart(steps: number): Promise<SoakResult> {
  // Imported here, so that the Node part's heap holds only what the studio's engine does.
  const { chromium } = await import('playwright');
  const { createServer } = await import('vite');
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    cacheDir: join(ROOT, 'node_modules', '.vite-soak'),
    server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
    optimizeDeps: { entries: ['bench/soak-page.html'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 5173;
  // A profile on disk: IndexedDB as a person's browser keeps it (not an in-memory incognito store).
  const profile = mkdtempSync(join(tmpdir(), 'soak-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc', '--enable-precise-memory-info'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => console.error(`[chromium] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[chromium error] ${e.message}`));
    const q = new URLSearchParams({ steps: String(steps), context: String(values.context) });
    // Vite transforms the engine's modules on first request: slow on a busy machine.
    await page.goto(`http://localhost:${port}/bench/soak-page.html?${q}`, { timeout: 600_000 });
    // Saves the page's result so far as it comes (after each pause/resume).
    let saved = 0;
    for (;;) {
      const done = await page
        .waitForFunction(() => window.__soak || window.__soakError, undefined, {
          timeout: 10_000,
          polling: 1000,
        })
        .then(() => true)
        .catch(() => false);
      if (done) break;
      const partial = await page.evaluate(() => window.__soakPartial);
      if (partial && partial.stepsDone > saved) {
        saved = partial.stepsDone;
        save('chromium', partial);
      }
    }
    const error = await page.evaluate(() => window.__soakError);
    if (error) throw new Error(`the soak page failed: ${error}`);
    return (await page.evaluate(() => window.__soak))!;
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

declare global {
  interface Window {
    __soak?: SoakResult;
    __soakPartial?: SoakResult;
    __soakError?: string;
  }
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
const pct = (g: number) => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)} %`;

function printTable(name: string, r: SoakResult): void {
  console.log(
    `\n${name}: ${r.host}, ${r.steps} steps at ${r.context} tokens in ${r.seconds} s` +
      ` (heap after a forced GC: ${r.forcedGc ? 'yes' : 'no'})` +
      (r.complete ? '' : ` — INCOMPLETE: saved at step ${r.stepsDone}`),
  );
  const rows: [string, string, string, string][] = [
    ['live GPU tensors', String(r.start.liveTensors), String(r.end.liveTensors), ''],
    ['GPU bytes', mb(r.start.gpuBytes), mb(r.end.gpuBytes), ''],
    ['JS heap', mb(r.start.heapUsed), mb(r.end.heapUsed), ''],
    [
      `storage (after commits at ${r.storageSteps[0]} / ${r.storageSteps[1]})`,
      mb(r.start.storageBytes),
      mb(r.end.storageBytes),
      '',
    ],
  ];
  const g = [r.growth.liveTensors, r.growth.gpuBytes, r.growth.heapUsed, r.growth.storageBytes];
  rows.forEach((row, i) => (row[3] = pct(g[i]!)));
  const head: [string, string, string, string] = [
    'figure',
    `step ${r.start.step}`,
    `step ${r.end.step}`,
    'growth',
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...[head, ...rows].map((x) => x[i]!.length)));
  for (const row of [head, ...rows])
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  const worst = Math.max(...g);
  console.log(worst <= 0.05 ? 'flat: no figure grew more than 5 %' : 'GREW more than 5 %');
}

async function main() {
  const nodeSteps = Number(values.steps);
  const browserSteps = Number(values['browser-steps']);
  if (nodeSteps > 0) save('node', await nodePart(nodeSteps));
  if (browserSteps > 0) save('chromium', await browserPart(browserSteps));
  const results = JSON.parse(readFileSync(resolve(ROOT, values.out!), 'utf8')) as Record<
    string,
    SoakResult
  >;
  for (const [name, r] of Object.entries(results)) printTable(name, r);
  console.log(`\nwrote ${values.out}`);
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
