// `npm test`: every check CI runs — typecheck and lint, unit tests, GPU tests in Node (Dawn) and in
// headless Chromium (both on SwiftShader where there is no GPU; the two at once), end-to-end tests. Installs
// what it needs first. Prints a summary with the test counts of each stage.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { ensureNodeModules, ensureSystemDeps } from './sys-deps.mjs';

ensureSystemDeps();
ensureNodeModules();
mkdirSync('test-results', { recursive: true });

// Stages in one inner list run at the same time, each writing to its own log, printed when it ends:
// the GPU tests in Node and in Chromium each keep about one of a 2-core machine's cores busy (their
// kernels run on SwiftShader's threads), so together they take little more than the longer alone.
// The end-to-end tests time real waits (checkpoint minutes, reloads) and run alone.
const groups = [
  [
    { name: 'typecheck', cmd: 'npx tsc -p tsconfig.json --noEmit' },
    {
      name: 'lint',
      cmd: 'npx eslint . --max-warnings=0 && npx prettier --check . --log-level warn',
    },
  ],
  [{ name: 'unit', vitest: 'unit' }],
  [
    { name: 'gpu-node', vitest: 'gpu-node' },
    { name: 'gpu-browser', vitest: 'gpu-browser' },
  ],
  [
    {
      name: 'e2e',
      cmd: 'npx vite build --logLevel warn && npx playwright test --reporter=list,json',
      json: 'test-results/e2e.json',
    },
  ],
];

/** Runs one stage; alone its output streams, beside others it goes to a log printed at its end. */
function runStage(s, alone) {
  let cmd = s.cmd;
  let json = s.json;
  if (s.vitest) {
    json = `test-results/${s.vitest}.json`;
    cmd = `npx vitest run --project ${s.vitest} --reporter=default --reporter=json --outputFile.json=${json}`;
  }
  const env = { ...process.env };
  if (json && s.name === 'e2e') env.PLAYWRIGHT_JSON_OUTPUT_NAME = json;
  const start = Date.now();
  const log = `test-results/${s.name}.log`;
  return new Promise((resolve) => {
    if (alone) console.log(`\n=== ${s.name} ===`);
    const out = alone ? 'inherit' : openSync(log, 'w');
    const child = spawn(cmd, { shell: true, stdio: ['ignore', out, out], env });
    child.on('close', (code) => {
      if (!alone) {
        console.log(`\n=== ${s.name} (ran beside others; its log) ===`);
        process.stdout.write(readFileSync(log, 'utf8'));
      }
      resolve({
        name: s.name,
        ok: code === 0,
        secs: (Date.now() - start) / 1000,
        counts: json ? counts(json) : null,
      });
    });
  });
}

const results = [];
const t0 = Date.now();
for (const group of groups) {
  results.push(...(await Promise.all(group.map((s) => runStage(s, group.length === 1)))));
}
const failedStages = results.filter((r) => !r.ok).length;

console.log('\n=== summary ===');
let passed = 0;
let failed = 0;
for (const r of results) {
  const c = r.counts ? ` ${r.counts.passed} passed, ${r.counts.failed} failed` : '';
  console.log(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(12)} ${r.secs.toFixed(1).padStart(6)} s${c}`,
  );
  if (r.counts) {
    passed += r.counts.passed;
    failed += r.counts.failed;
  }
}
console.log(`total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
// A stage that failed without reporting test counts (e.g. typecheck) still fails the run.
if (failedStages > 0 && failed === 0) failed = failedStages;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failedStages > 0 ? 1 : 0);

function counts(path) {
  if (!existsSync(path)) return null;
  try {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof j.numPassedTests === 'number') {
      return {
        passed: j.numPassedTests,
        failed:
          j.numFailedTests +
          (j.numTotalTests -
            j.numPassedTests -
            j.numFailedTests -
            (j.numPendingTests ?? 0) -
            (j.numTodoTests ?? 0)),
      };
    }
    if (j.stats)
      return {
        passed: j.stats.expected ?? 0,
        failed: (j.stats.unexpected ?? 0) + (j.stats.flaky ?? 0),
      };
  } catch {
    /* fall through */
  }
  return null;
}
