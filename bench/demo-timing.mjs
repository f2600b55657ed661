// What a newcomer sees: builds the studio, serves it with `vite preview`, opens it in headless
// Chromium (WebGPU; SwiftShader where there is no GPU), presses "Use demo model" then "Start training"
// with the default settings, and records every step with its smoothed loss for --seconds. Prints a
// timeline and writes bench/demo-timing.json.
// Usage: npm run bench:demo [-- --seconds 60 --context 1024 --screenshot FILE.png]
import { execSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { ensureNodeModules, ensureSystemDeps } from '../scripts/sys-deps.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    context: { type: 'string' },
    'no-build': { type: 'boolean' },
    screenshot: { type: 'string' },
  },
});
ensureSystemDeps();
ensureNodeModules();
if (!values['no-build']) execSync('npx vite build', { stdio: 'inherit' });
const PORT = 4183;
const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], {
  stdio: 'ignore',
  detached: true,
});
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: CHROMIUM_ARGS,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  for (let i = 0; ; i++) {
    try {
      await page.goto(`http://localhost:${PORT}/`);
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const t0 = Date.now();
  const since = () => (Date.now() - t0) / 1000;
  await page
    .getByRole('status', { name: 'GPU status' })
    .filter({ hasText: 'GPU self-test passed' })
    .waitFor({ timeout: 120_000 });
  const selfTest = since();
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await page
    .getByLabel('Data summary')
    .filter({ hasText: 'tinystories' })
    .waitFor({ timeout: 120_000 });
  if (values.context)
    await page.getByRole('spinbutton', { name: 'Target context' }).fill(values.context);
  const start = page.getByRole('button', { name: 'Start training' });
  await start.waitFor();
  while (await start.isDisabled()) await new Promise((r) => setTimeout(r, 100));
  const demoReady = since();
  const context = Number(
    await page.getByRole('spinbutton', { name: 'Target context' }).inputValue(),
  );
  await start.click();
  const pressed = since();
  const stat = (k) =>
    page.locator('.stat', { has: page.locator('.k', { hasText: k }) }).locator('.v');
  const steps = [];
  let last = 0;
  while (since() - pressed < Number(values.seconds)) {
    const step = Number(
      await page
        .getByRole('progressbar', { name: 'Training progress' })
        .getAttribute('aria-valuenow'),
    );
    if (step > last) {
      const smoothed = Number(await stat('Loss (smoothed)').textContent());
      steps.push({
        step,
        secondsAfterStart: +(since() - pressed).toFixed(1),
        smoothedLoss: smoothed,
      });
      console.log(`+${(since() - pressed).toFixed(1)} s  step ${step}  smoothed loss ${smoothed}`);
      last = step;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (values.screenshot) await page.screenshot({ path: values.screenshot, fullPage: false });
  const result = {
    adapter: await page.getByRole('status', { name: 'GPU status' }).textContent(),
    context,
    pageLoadToSelfTestSeconds: selfTest,
    pageLoadToDemoReadySeconds: demoReady,
    startToFirstStepSeconds: steps[0]?.secondsAfterStart ?? null,
    pageLoadToFirstStepSeconds: steps[0]
      ? +(pressed + steps[0].secondsAfterStart).toFixed(1)
      : null,
    steps,
  };
  console.log(JSON.stringify({ ...result, steps: undefined }, null, 1));
  writeFileSync('bench/demo-timing.json', `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser.close();
  process.kill(-server.pid);
}
