// The LongLoRA result on a real model: stories260K (trained at 512 tokens) extended with position
// interpolation, measured before and after LongLoRA training (s2 + LoRA+), against full-attention
// training and LoRA without trainable embeddings/norms. Writes bench/longlora-results-N.json and a loss
// plot docs/longlora-loss-N.png. Usage: node bench/longlora-experiment.mjs [--context 2048] [--steps 80]
// [--no-plot] (train and measure only) | [--plot-only] (plot bench/longlora-results-N.json, which opens a
// headless Chromium; on a shared machine run it under the browser lock).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';

const { values } = parseArgs({
  options: {
    context: { type: 'string', default: '2048' },
    steps: { type: 'string', default: '80' },
    lr: { type: 'string', default: '2e-3' },
    windows: { type: 'string', default: '4' },
    out: { type: 'string', default: 'runs/longlora' },
    only: { type: 'string' },
    'no-plot': { type: 'boolean' },
    'plot-only': { type: 'boolean' },
  },
});
const N = Number(values.context);
if (values['plot-only']) {
  await plot(JSON.parse(readFileSync(`bench/longlora-results-${N}.json`, 'utf8')));
  process.exit(0);
}
const model = 'public/demo';
const text = readFileSync('public/demo/tinystories-197k.txt', 'utf8');
const out = values.out;
mkdirSync(out, { recursive: true });
// Held-out = the last 24 KB of the file (enough for 4 windows of 2048 tokens); training uses the rest.
const cut = text.lastIndexOf('\n\n', text.length - 24_000);
writeFileSync(join(out, 'train.txt'), text.slice(0, cut));
writeFileSync(join(out, 'heldout.txt'), text.slice(cut + 2));

const longlora = (...args) => {
  console.error(`$ npx longlora ${args.join(' ')}`);
  return execFileSync('node', ['bin/longlora.mjs', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
};
const evalPpl = (extra, ctx = N) =>
  JSON.parse(
    longlora(
      'eval',
      '--model',
      model,
      '--data',
      join(out, 'heldout.txt'),
      '--context',
      String(ctx),
      '--max-windows',
      values.windows,
      '--json',
      ...extra,
    ),
  );

const resultsPath = `bench/longlora-results-${N}.json`;
const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
results.context = N;
results.steps = Number(values.steps);
results.lr = Number(values.lr);
results.ropeFactor = Math.ceil(N / 512);
const want = (name) => !values.only || values.only.split(',').includes(name);

if (want('base')) {
  results.base512 = evalPpl([], 512);
  results.baseInterpolated = evalPpl([]);
}
const runs = {
  s2: ['--attention', 's2'],
  full: ['--attention', 'full'],
  'lora-only': ['--attention', 's2', '--trainable', 'none'],
};
results.runs ??= {};
for (const [name, flags] of Object.entries(runs)) {
  if (!want(name)) continue;
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  const log = join(out, `${name}.jsonl`);
  rmSync(log, { force: true });
  const t0 = Date.now();
  longlora(
    'train',
    '--model',
    model,
    '--data',
    join(out, 'train.txt'),
    '--out',
    dir,
    '--context',
    String(N),
    '--steps',
    values.steps,
    '--lr',
    values.lr,
    '--warmup',
    '5',
    '--checkpoint-every',
    '0',
    '--eval-every',
    '0',
    '--eval-windows',
    '1',
    '--log-json',
    log,
    ...flags,
  );
  const seconds = (Date.now() - t0) / 1000;
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const steps = records.filter((r) => r.type === 'step');
  const after = evalPpl(['--adapter', dir]);
  // Steady-state throughput: median tokens/s over the second half of the run.
  const tps = steps
    .slice(steps.length >> 1)
    .map((r) => r.tokensPerSec)
    .sort((a, b) => a - b);
  // The merged model (W + s·B·A, trained embed/norm substituted) must give the adapter's perplexity.
  let merged;
  if (name === 's2') {
    longlora('merge', '--model', model, '--adapter', dir, '--out', join(out, 'merged'));
    merged = JSON.parse(
      longlora(
        'eval',
        '--model',
        join(out, 'merged'),
        '--data',
        join(out, 'heldout.txt'),
        '--context',
        String(N),
        '--max-windows',
        values.windows,
        '--json',
      ),
    );
  }
  results.runs[name] = {
    merged,
    flags: flags.join(' '),
    seconds,
    tokensPerSec: tps[tps.length >> 1],
    finalTrainLoss: steps.at(-1).smoothLoss,
    heldOut: after,
    losses: steps.map((r) => r.loss),
  };
  writeFileSync(resultsPath, JSON.stringify(results, null, 2));
}
writeFileSync(resultsPath, JSON.stringify(results, null, 2));
if (!values['no-plot']) await plot(results);
console.log(
  JSON.stringify(
    {
      ...results,
      runs: Object.fromEntries(
        Object.entries(results.runs).map(([k, r]) => [k, { ...r, losses: undefined }]),
      ),
    },
    null,
    2,
  ),
);

/** Renders the training losses as an SVG and screenshots it to docs/longlora-loss-N.png. */
async function plot(r) {
  const W = 720,
    H = 360,
    L = 56,
    B = 40,
    T = 36,
    R = 150;
  const series = Object.entries(r.runs);
  const all = series.flatMap(([, s]) => s.losses);
  if (all.length === 0) return;
  const max = Math.max(...all),
    min = Math.min(...all);
  const n = Math.max(...series.map(([, s]) => s.losses.length));
  const x = (i) => L + ((W - L - R) * i) / Math.max(1, n - 1);
  const y = (v) => T + ((H - T - B) * (max - v)) / (max - min || 1);
  const colors = { s2: '#2563eb', full: '#dc2626', 'lora-only': '#16a34a' };
  const smooth = (xs) => {
    let m = xs[0];
    return xs.map((v) => (m = 0.8 * m + 0.2 * v));
  };
  const paths = series.map(
    ([name, s]) =>
      `<path d="${smooth(s.losses)
        .map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`)
        .join('')}" fill="none" stroke="${colors[name]}" stroke-width="2"/>`,
  );
  const legend = series.map(
    ([name, s], i) =>
      `<text x="${W - R + 12}" y="${T + 20 + i * 22}" fill="${colors[name]}" font-size="13">${name}: ppl ${s.heldOut.ppl.toFixed(2)}</text>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = min + f * (max - min);
    return `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(2)}</text><line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${ticks.join('')}${paths.join('')}${legend.join('')}<text x="${L}" y="22" font-size="14" font-weight="bold">stories260K → ${r.context} tokens (rope ×${r.ropeFactor}): training loss (smoothed)</text><text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">optimizer step</text><text x="${W - R + 12}" y="${T + 20 + series.length * 22}" font-size="12" fill="#6b7280">before: ppl ${r.baseInterpolated?.ppl.toFixed(2) ?? '?'}</text></svg>`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: W, height: H } });
  await page.setContent(svg);
  await page.screenshot({ path: `docs/longlora-loss-${r.context}.png` });
  await browser.close();
}
