import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS } from './scripts/chromium.mjs';

const PORT = 4173;

// The fuzz spec's seed is part of its title: choose it once here, so the runner and its workers
// (which inherit this environment) name the same test. FUZZ_SEED=N picks one.
process.env.FUZZ_SEED ??= String(Math.floor(Math.random() * 2 ** 32));

/** End-to-end tests against the built app served by `vite preview`, in headless Chromium with WebGPU. */
export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    // A click on a control that never becomes enabled fails with the page's state, not at the
    // test's timeout.
    actionTimeout: 60_000,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
