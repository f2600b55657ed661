/**
 * The training-step benchmark's Chromium page (bench/bench-step.ts --host chromium opens it): the
 * row's model files fetched from the Vite server (`dir`, `files`), the kernels tuned with choices in
 * IndexedDB as the studio keeps them, then the same measurement as the Node child
 * (bench-step-core.ts) on this page's WebGPU adapter. The result lands in window.__stepResult.
 */
import { setTuneStore } from '../src/engine/kernels/autotune.ts';
import { createBrowserRuntime } from '../src/engine/browser-host.ts';
import { idbTuneStore } from '../src/engine/tune-store.ts';
import { openModel } from '../src/io/model.ts';
import { bytesSource } from '../src/io/source.ts';
import { DATA_FILE, measureStep, ROWS } from './bench-step-core.ts';

const pre = document.getElementById('log');
const log = (line: string) => {
  console.log(line);
  if (pre) pre.textContent += `${line}\n`;
};

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const row = ROWS.find((r) => r.id === q.get('row'));
  if (!row) throw new Error(`unknown row ${q.get('row')}`);
  const dir = q.get('dir')!;
  const files = q.get('files')!.split(',');
  const sources = [];
  for (const f of files) sources.push(bytesSource(f, await fetchBytes(`${dir}/${f}`)));
  const m = await openModel(sources);
  const text = new TextDecoder().decode(await fetchBytes(`/demo/${DATA_FILE}`));
  const rt = await createBrowserRuntime();
  setTuneStore(idbTuneStore());
  log(`${row.label} at ${row.context} tokens on ${rt.info.name}`);
  window.__stepResult = await measureStep(rt, m, text, row, Number(q.get('steps') ?? 2));
  log(JSON.stringify(window.__stepResult));
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log(`error: ${msg}`);
  window.__stepError = msg;
});
