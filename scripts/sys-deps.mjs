// Installs what npm cannot: Debian's chromium (headless WebGPU on SwiftShader for the browser tests)
// and libvulkan1 (the Vulkan loader Dawn needs in Node). Idempotent; a no-op when both are present.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function hasVulkanLoader() {
  try {
    return execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

/** Ensures /usr/bin/chromium and libvulkan.so.1 exist, installing them with apt-get when missing. */
export function ensureSystemDeps() {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!hasVulkanLoader()) missing.push('libvulkan1');
  if (missing.length === 0) return;
  const sudo = process.getuid && process.getuid() !== 0 ? 'sudo ' : '';
  console.log(`[setup] installing ${missing.join(', ')} with apt-get …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execSync(`${sudo}apt-get update -qq`, { stdio: 'inherit', env });
  execSync(`${sudo}apt-get install -y -qq ${missing.join(' ')}`, { stdio: 'inherit', env });
}

/** Runs `npm ci` when node_modules is missing. */
export function ensureNodeModules() {
  if (existsSync('node_modules/.package-lock.json')) return;
  console.log('[setup] installing npm packages (npm ci) …');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureSystemDeps();
  ensureNodeModules();
}
