// npm run bench:step: one LongLoRA training step (s2, LoRA+ on q,k,v,o with embeddings and norms,
// gradient checkpointing) per model fixture, in Node on whatever adapter Dawn finds (SwiftShader
// here): step time, tokens/s, model GFLOP/s (6 × matmul parameters × tokens: the projections of
// every layer and the output layer), the adapter's FMA peak measured in the same process
// (bench/fma.ts), their ratio, the peak GPU bytes, and the kernel-tuning time before the step.
// Each row runs in its own process; the fixtures are random-weight Hugging Face folders in the
// exact shapes of the real models (scripts/make-fixtures.ts), written under fixtures/generated/step/.
// Writes bench/step.json (rows merged by id; `--out` names another file, e.g. a GPU machine's) and
// prints a table. `--rows all` runs every row.
// `--host chromium` runs the rows in headless Chromium instead (bench/bench-step-page.ts, the same
// measurement on the browser's adapter); rows are kept per host.
//   npm run bench:step [-- --rows stories260k,smollm2-4l] [--steps 2] [--timeout 3600] [--out F]
//     [--host node|chromium]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_FILE, fixturePath, ROWS, type Row } from './bench-step-core.ts';

declare global {
  interface Window {
    __stepResult?: Record<string, unknown>;
    __stepError?: string;
  }
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: 'stories260k,smollm2-4l' },
    steps: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '7200' },
    child: { type: 'string' },
    out: { type: 'string', default: 'bench/step.json' },
    host: { type: 'string', default: 'node' },
  },
});
const OUT = values.out!;

function fixtureDir(r: Row): string {
  const dir = fixturePath(r);
  if (r.model === 'public/demo') return dir;
  if (!existsSync(join(dir, 'config.json'))) {
    console.log(`  writing the ${r.label} fixture to ${dir} …`);
    const args = ['--import', 'tsx', 'scripts/make-fixtures.ts', '--real', r.model, '--out', dir];
    if (r.layers) args.push('--layers', String(r.layers));
    execFileSync(process.execPath, args, { stdio: 'inherit' });
  }
  return dir;
}

if (values.child) {
  await child(
    ROWS.find((r) => r.id === values.child)!,
    Number(values.steps),
  );
  process.exit(0);
}

const wanted = values.rows === 'all' ? ROWS.map((r) => r.id) : values.rows!.split(',');
for (const id of wanted) if (!ROWS.some((r) => r.id === id)) throw new Error(`unknown row ${id}`);
const results: Record<string, unknown>[] = existsSync(OUT)
  ? (JSON.parse(readFileSync(OUT, 'utf8')).rows ?? [])
  : [];
const host = values.host!;
if (host !== 'node' && host !== 'chromium') throw new Error(`--host must be node or chromium`);
const picked = ROWS.filter((x) => wanted.includes(x.id));
const save = (r: Row, res: Record<string, unknown>) => {
  const row = {
    id: r.id,
    model: r.label,
    context: r.context,
    date: new Date().toISOString(),
    host,
    ...res,
  };
  // Rows written before the host column are Node's.
  const i = results.findIndex((x) => x.id === r.id && (x.host ?? 'node') === host);
  if (i >= 0) results[i] = row;
  else results.push(row);
  writeFileSync(OUT, `${JSON.stringify({ rows: results }, null, 2)}\n`);
};
if (host === 'chromium') {
  const res = await chromiumRows(picked, Number(values.timeout));
  picked.forEach((r, i) => save(r, res[i]!));
} else {
  for (const r of picked) {
    const dir = fixtureDir(r);
    console.log(`${r.label} at ${r.context} tokens (${dir}) …`);
    save(r, await runChild(r, Number(values.timeout)));
  }
}
// In the repository's Prettier layout (it folds the short loss arrays JSON.stringify spreads over
// lines), so a committed result passes lint.
try {
  execFileSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--write', OUT], {
    stdio: 'ignore',
  });
} catch {
  // Prettier is a dev dependency: without it the file stays as JSON.stringify wrote it.
}
printTable(results);

function runChild(r: Row, timeoutS: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const args = [
      '--import',
      'tsx',
      'bench/bench-step.ts',
      '--child',
      r.id,
      '--steps',
      values.steps!,
    ];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutS * 1000);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{"result"'));
      if (line) resolve(JSON.parse(line).result);
      else resolve({ error: code === null ? `killed after ${timeoutS} s` : `exit ${code}` });
    });
  });
}

async function child(r: Row, steps: number): Promise<void> {
  const { createNodeRuntime } = await import('../src/engine/node-host.ts');
  const { setTuneStore } = await import('../src/engine/kernels/autotune.ts');
  const { fileTuneStore } = await import('../src/engine/tune-store-node.ts');
  const { openModelPath } = await import('../src/io/open-node.ts');
  const { measureStep } = await import('./bench-step-core.ts');
  const m = await openModelPath(fixtureDir(r));
  const text = readFileSync(join('public', 'demo', DATA_FILE), 'utf8');
  const rt = await createNodeRuntime();
  setTuneStore(fileTuneStore());
  const result = await measureStep(rt, m, text, r, steps);
  console.log(JSON.stringify({ result }));
}

/**
 * The rows in headless Chromium: bench/bench-step-page.html served by Vite from the repository
 * (the fixture's files fetched from it), one fresh browser per row; the tuning choices live in the
 * browser profile's IndexedDB, kept across rows as the studio keeps them.
 */
async function chromiumRows(rows: Row[], timeoutS: number): Promise<Record<string, unknown>[]> {
  const { chromium } = await import('playwright');
  const { createServer } = await import('vite');
  const { CHROMIUM, CHROMIUM_ARGS } = await import('../scripts/chromium.mjs');
  const server = await createServer({
    root: process.cwd(),
    configFile: false,
    logLevel: 'warn',
    cacheDir: join('node_modules', '.vite-bench-step'),
    server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
    optimizeDeps: { entries: ['bench/bench-step-page.html'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 5173;
  const profile = mkdtempSync(join(tmpdir(), 'bench-step-profile-'));
  const out: Record<string, unknown>[] = [];
  try {
    for (const r of rows) {
      const dir = fixtureDir(r);
      console.log(`${r.label} at ${r.context} tokens (${dir}), in Chromium …`);
      const files = readdirSync(dir).filter((f) => !f.endsWith('.txt') && !f.endsWith('.md'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        page.on('console', (msg) => console.error(`[chromium] ${msg.text()}`));
        page.on('pageerror', (e) => console.error(`[chromium error] ${e.message}`));
        const q = new URLSearchParams({
          row: r.id,
          steps: values.steps!,
          dir: dir === 'public/demo' ? '/demo' : `/${dir}`,
          files: files.join(','),
        });
        await page.goto(`http://localhost:${port}/bench/bench-step-page.html?${q}`, {
          timeout: 600_000,
        });
        await page.waitForFunction(() => window.__stepResult || window.__stepError, undefined, {
          timeout: timeoutS * 1000,
          polling: 1000,
        });
        const error = await page.evaluate(() => window.__stepError);
        out.push(error ? { error } : (await page.evaluate(() => window.__stepResult))!);
      } catch (e) {
        out.push({ error: e instanceof Error ? e.message.split('\n')[0] : String(e) });
      } finally {
        await context.close();
      }
    }
  } finally {
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return out;
}

function printTable(rows: Record<string, unknown>[]): void {
  const f = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : String(x ?? '—'));
  console.log(
    '\n| model | context | host | step s | tokens/s | model GFLOP/s | FMA peak GFLOP/s | of peak | GPU MiB | adapter |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.model} | ${r.context} | ${r.host ?? 'node'} | ${r.error} | | | | | | |`);
      continue;
    }
    console.log(
      `| ${r.model} | ${r.context} | ${r.host ?? 'node'} | ${f(Number(r.stepMs) / 1000, Number(r.stepMs) < 10_000 ? 3 : 1)} | ${f(r.tokensPerSec, 1)} | ${f(r.modelGflops)} | ${f(r.fmaPeakGflops)} | ${f(100 * Number(r.fractionOfPeak), 1)} % | ${f(Number(r.peakGpuBytes) / 2 ** 20, 0)} | ${r.adapter} |`,
    );
  }
}
