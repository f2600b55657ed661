// npm run bench:node: the kernel benchmark (bench/*.bench.ts: matmul variants, attention patterns)
// in Node on the adapter Dawn finds, for machines with a GPU but no browser. The tfjs baseline runs
// in the browser benchmark only (npm run bench), so its column is empty here. A GPU adapter gets
// GPU-sized shapes (each module picks them from rt.info.isSoftware) and its fp32 FMA peak is
// measured in the same run (bench/fma.ts) so the matmul rows read as a fraction of it.
// Writes the results (default bench/results-node.json) and prints a table.
//   npm run bench:node [-- --only matmul,attention] [--out F]
import { readdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fmaPeakGflops } from './fma.ts';
import type { BenchModule, BenchResults, MatmulRow } from './types.ts';
import { createNodeRuntime } from '../src/engine/node-host.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/results-node.json' },
  },
});
const only = values.only?.split(',');

const rt = await createNodeRuntime((m) => console.log(m));
const a = rt.info;
const adapter = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ');
console.log(
  `adapter: ${adapter} (subgroups ${a.features.subgroups}, shader-f16 ${a.features.shaderF16})`,
);
const fmaPeak = await fmaPeakGflops(rt);
console.log(`fp32 FMA peak: ${fmaPeak.toFixed(1)} GFLOP/s`);
const results: BenchResults = {
  adapter,
  host: 'node',
  date: new Date().toISOString(),
  fmaPeakGflops: fmaPeak,
  matmul: [],
  attention: [],
};
const names = readdirSync(new URL('./', import.meta.url))
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
for (const file of names) {
  const name = file.replace(/\.bench\.ts$/, '');
  if (only && !only.includes(name)) continue;
  console.log(`— ${name}`);
  const mod = (await import(`./${file}`)) as BenchModule;
  const sections = await mod.run(rt, (line) => console.log(line));
  for (const [key, rows] of Object.entries(sections)) {
    const prev = results[key];
    results[key] = Array.isArray(prev) ? [...(prev as unknown[]), ...rows] : rows;
  }
}
rt.destroy();
writeFileSync(values.out!, `${JSON.stringify(results, null, 2)}\n`);

const best = new Map<string, MatmulRow>();
for (const r of results.matmul) {
  const key = `${r.m}×${r.n}×${r.k}`;
  if (!best.has(key) || best.get(key)!.gflops < r.gflops) best.set(key, r);
}
console.log(`\nadapter: ${adapter}; fp32 FMA peak ${fmaPeak.toFixed(1)} GFLOP/s`);
console.log('| m×n×k | best variant | ms | GFLOP/s | of FMA peak |');
console.log('| --- | --- | --- | --- | --- |');
for (const [shape, r] of best) {
  console.log(
    `| ${shape} | ${r.variant} | ${r.ms.toFixed(3)} | ${r.gflops.toFixed(1)} | ${((100 * r.gflops) / fmaPeak).toFixed(1)} % |`,
  );
}
console.log(`\nwrote ${values.out}`);
