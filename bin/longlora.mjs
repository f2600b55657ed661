#!/usr/bin/env node
// `npx longlora <command>`: runs src/cli/main.ts through tsx (TypeScript sources, WGSL read from shaders/).
//
// The GPU stack's native code (Dawn, the Vulkan loader, Mesa) writes warnings straight to file
// descriptor 2, which no JavaScript can intercept in the same process. So the command runs in a child
// process whose stderr passes through src/cli/native-noise.ts, which drops those lines; with --verbose
// it runs here, everything shown.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const argv = process.argv.slice(2);
const CHILD = 'LONGLORA_FILTERED_CHILD';
if (process.env[CHILD] === '1' || argv.includes('--verbose')) {
  const { main } = await import('../src/cli/main.ts');
  const code = await main(argv);
  // Dawn keeps threads alive; exit explicitly once the command is done.
  process.exit(code);
}

const { NativeNoiseFilter } = await import('../src/cli/native-noise.ts');
const child = spawn(
  process.execPath,
  [...process.execArgv, fileURLToPath(import.meta.url), ...argv],
  {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD]: '1' },
  },
);
const filter = new NativeNoiseFilter();
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => process.stderr.write(filter.push(chunk)));
// Ctrl-C reaches the child by itself (same process group): `train` then stops after its step and
// writes a checkpoint, so this process waits for it instead of dying. Termination is passed on.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => {
  // Exit once what is left has been written (a pipe may be asynchronous).
  process.stderr.write(filter.end(), () =>
    process.exit(code ?? 128 + (constants.signals[signal] ?? 0)),
  );
});
