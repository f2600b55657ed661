/**
 * The benchmark page: one Runtime on this browser's adapter, every `bench/*.bench.ts` module in
 * name order (or those named in `?only=a,b`), sections concatenated into one results object that
 * bench/bench.mjs collects from `window.__benchResults`.
 */
import { createBrowserRuntime } from '../src/engine/browser-host.ts';
import type { BenchModule, BenchResults, Log } from './types.ts';

declare global {
  interface Window {
    __benchResults?: BenchResults;
    __benchError?: string;
  }
}

const modules = import.meta.glob<BenchModule>('./*.bench.ts');

const pre = document.getElementById('log');
const log: Log = (line) => {
  console.log(line);
  if (pre) pre.textContent += `${line}\n`;
};

async function main(): Promise<void> {
  const rt = await createBrowserRuntime();
  const a = rt.info;
  const adapter = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ');
  log(
    `adapter: ${adapter} (subgroups ${a.features.subgroups}, shader-f16 ${a.features.shaderF16})`,
  );
  const only = new URLSearchParams(location.search).get('only')?.split(',');
  const results: BenchResults = {
    adapter,
    date: new Date().toISOString(),
    matmul: [],
    attention: [],
  };
  for (const path of Object.keys(modules).sort()) {
    const name = path.replace(/^\.\//, '').replace(/\.bench\.ts$/, '');
    if (only && !only.includes(name)) continue;
    log(`— ${name}`);
    const mod = await modules[path]!();
    const sections = await mod.run(rt, log);
    for (const [key, rows] of Object.entries(sections)) {
      const prev = results[key];
      results[key] = Array.isArray(prev) ? [...(prev as unknown[]), ...rows] : rows;
    }
  }
  rt.destroy();
  window.__benchResults = results;
  log('done');
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log(`error: ${msg}`);
  window.__benchError = msg;
});
