// `npm run bench`: serves bench/index.html with Vite on localhost, drives headless Chromium
// (WebGPU; SwiftShader where there is no GPU) with Playwright so every kernel and tfjs run on the
// same adapter in one session, prints a table and writes bench/results.json.
// Usage: npm run bench [-- matmul,attention]   (comma-separated bench module names; default all;
// a partial run keeps the other sections already in bench/results.json)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { ensureNodeModules, ensureSystemDeps } from '../scripts/sys-deps.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'results.json');
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 15 * 60_000);

async function main() {
  ensureSystemDeps();
  ensureNodeModules();
  const only = process.argv[2];
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    cacheDir: join(ROOT, 'node_modules', '.vite-bench'),
    server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
    // Pre-bundle tfjs before the page loads so Vite never reloads the page mid-run.
    optimizeDeps: {
      entries: ['bench/index.html'],
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'],
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address ? address.port : 5173;
  const url = `http://localhost:${port}/bench/index.html${only ? `?only=${only}` : ''}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const started = Date.now();
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => console.log(`[page] ${msg.text()}`));
    page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.__benchResults || window.__benchError, undefined, {
      timeout: TIMEOUT_MS,
      polling: 500,
    });
    const error = await page.evaluate(() => window.__benchError);
    if (error) throw new Error(`bench page failed: ${error}`);
    const results = await page.evaluate(() => window.__benchResults);
    writeFileSync(OUT, `${JSON.stringify(only ? mergeInto(OUT, results) : results, null, 2)}\n`);
    printTables(results);
    console.log(`\nwrote ${OUT} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await browser.close();
    await server.close();
  }
}

/** A partial run (`npm run bench -- matmul`) keeps the other sections already in results.json. */
function mergeInto(path, results) {
  if (!existsSync(path)) return results;
  const merged = JSON.parse(readFileSync(path, 'utf8'));
  for (const [key, value] of Object.entries(results)) {
    if (!Array.isArray(value) || value.length > 0 || !Array.isArray(merged[key]))
      merged[key] = value;
  }
  return merged;
}

function printTables(results) {
  console.log(`\nadapter: ${results.adapter}\ndate:    ${results.date}`);
  if (results.matmul.length) {
    console.log(
      '\nmatmul (C[m,n] = A[m,k]·W[n,k]ᵀ; tfjs = tfjs-backend-webgpu f32 matMul, same adapter)',
    );
    const head = ['m', 'n', 'k', 'variant', 'ms', 'GFLOP/s', 'tfjs ms', 'vs tfjs'];
    const rows = results.matmul.map((r) => [
      r.m,
      r.n,
      r.k,
      r.variant,
      r.ms.toFixed(1),
      r.gflops.toFixed(3),
      r.tfjs_ms === null ? '-' : r.tfjs_ms.toFixed(1),
      r.tfjs_ms === null ? '-' : `${(r.tfjs_ms / r.ms).toFixed(2)}×`,
    ]);
    printTable(head, rows);
  }
  for (const [key, rows] of Object.entries(results)) {
    if (key === 'matmul' || !Array.isArray(rows) || rows.length === 0) continue;
    console.log(`\n${key}`);
    const head = Object.keys(rows[0]);
    printTable(
      head,
      rows.map((r) => head.map((h) => (typeof r[h] === 'number' ? +r[h].toFixed(3) : r[h]))),
    );
  }
}

function printTable(head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log(r.map((c, i) => c.padStart(widths[i])).join('  '));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
