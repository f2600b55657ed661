// `npm start`: install what is missing, build the studio, and serve it on http://localhost.
import { execSync, spawn } from 'node:child_process';
import { ensureNodeModules } from './sys-deps.mjs';

ensureNodeModules();
execSync('npx vite build', { stdio: 'inherit' });
const port = process.env.PORT ?? '5173';
console.log(`\nLongLoRA Studio: open http://localhost:${port}/ in Chrome or Edge 113+ (WebGPU).\n`);
const server = spawn(
  'npx',
  ['vite', 'preview', '--host', 'localhost', '--port', port, '--strictPort'],
  {
    stdio: 'inherit',
  },
);
server.on('exit', (code) => process.exit(code ?? 0));
