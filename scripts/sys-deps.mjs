// Installs what npm cannot: Debian's chromium (headless WebGPU on SwiftShader for the browser tests),
// libvulkan1 (the Vulkan loader Dawn needs in Node) and python3-torch (PyTorch's own torch.load reads
// the exported trainable_params.bin in a unit test). Idempotent; a no-op when all are present.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function hasVulkanLoader() {
  try {
    return execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

function hasSystemTorch() {
  try {
    execSync('/usr/bin/python3 -c "import torch"', { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Ensures /usr/bin/chromium and libvulkan.so.1 exist, installing them with apt-get when missing, and
 * tries Debian's python3-torch (about 150 MB of packages, 2–4 minutes); without it the torch.load
 * test is skipped and the archive is still checked by the test's own decoder.
 */
export function ensureSystemDeps() {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!hasVulkanLoader()) missing.push('libvulkan1');
  const torch = !hasSystemTorch();
  if (missing.length === 0 && !torch) return;
  const sudo = process.getuid && process.getuid() !== 0 ? 'sudo ' : '';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execSync(`${sudo}apt-get update -qq`, { stdio: 'inherit', env });
  if (missing.length) {
    console.log(`[setup] installing ${missing.join(', ')} with apt-get …`);
    execSync(`${sudo}apt-get install -y -qq ${missing.join(' ')}`, { stdio: 'inherit', env });
  }
  if (torch) {
    console.log('[setup] installing python3-torch with apt-get …');
    try {
      execSync(`${sudo}apt-get install -y -qq --no-install-recommends python3-torch`, {
        stdio: 'inherit',
        env,
      });
    } catch {
      console.log(
        '[setup] python3-torch is not installable here; the torch.load test will be skipped',
      );
    }
  }
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
