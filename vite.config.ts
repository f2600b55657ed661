import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { playwright } from '@vitest/browser-playwright';
import type { Plugin } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from './scripts/chromium.mjs';

/** Dev server only: React Fast Refresh needs one inline script, which index.html's CSP forbids. */
const devCsp: Plugin = {
  name: 'longlora:dev-csp',
  apply: 'serve',
  transformIndexHtml: (html) =>
    html.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"),
};

const gpuTests = ['src/**/*.gpu.test.ts'];
/**
 * The GPU tests Chromium runs too: where the host adds something — every kernel and the runtime
 * (Chromium's own Dawn compiles and validates them), the worker's self-test, and one whole model's
 * loss and gradients. The model, training and checkpoint tests compose the same kernels through the
 * same code and run in Node only; the end-to-end tests train in Chromium's worker.
 */
const browserGpuTests = [
  'src/engine/**/*.gpu.test.ts',
  'src/worker/*.gpu.test.ts',
  'src/model/llama.gpu.test.ts',
  'src/model/quant-parity.gpu.test.ts',
  'src/model/offload.gpu.test.ts',
];
/** Tests of browser APIs (IndexedDB): headless Chromium only. */
const browserTests = ['src/**/*.browser.test.ts'];

export default defineConfig({
  plugins: [react(), devCsp],
  // Keep class names in the worker bundle: errors crossing to the page carry their class's name.
  worker: { format: 'es', rolldownOptions: { output: { keepNames: true } } },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: [...gpuTests, ...browserTests, 'src/**/*.node-gpu.test.ts', 'node_modules/**'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'gpu-node',
          // *.node-gpu.test.ts: GPU tests of Node-only code (the CLI).
          include: [...gpuTests, 'src/**/*.node-gpu.test.ts'],
          environment: 'node',
          setupFiles: ['src/test/setup-node-gpu.ts'],
          pool: 'forks',
          maxWorkers: 1,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'gpu-browser',
          include: [...browserGpuTests, ...browserTests],
          setupFiles: ['src/test/setup-browser-gpu.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
          },
          fileParallelism: false,
        },
      },
    ],
  },
});
