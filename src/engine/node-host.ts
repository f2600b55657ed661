/** Node host: WebGPU through the `webgpu` package (Dawn), shaders read from shaders/ on disk. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestDeviceFrom, type GpuHandle, type RuntimeCaps } from './device.ts';
import { WebGPUUnavailableError } from './errors.ts';
import { Runtime, type ShaderLoader } from './runtime.ts';

/** Debian's chromium package ships SwiftShader's Vulkan driver here. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const SHADER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shaders');

/** Reads `shaders/<name>.wgsl` from disk (cached). */
export const loadShaderFromDisk: ShaderLoader = (() => {
  const cache = new Map<string, string>();
  return (name: string) => {
    let s = cache.get(name);
    if (s === undefined) {
      s = readFileSync(join(SHADER_DIR, `${name}.wgsl`), 'utf8');
      cache.set(name, s);
    }
    return s;
  };
})();

const instances: GPU[] = [];
function keep(gpu: GPU): GPU {
  instances.push(gpu);
  return gpu;
}

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

/**
 * Acquires a GPU in Node. When Dawn finds no adapter and SwiftShader's driver is installed, sets
 * VK_ICD_FILENAMES to it, tries again and says so through `log`.
 */
export async function acquireNodeGpu(
  log: (msg: string) => void = () => {},
  caps?: RuntimeCaps,
): Promise<GpuHandle> {
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new WebGPUUnavailableError(
      `The 'webgpu' package (Dawn for Node) could not load: ${(e as Error).message}`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  // Keep every Dawn instance reachable: if one is garbage-collected while its devices live, Dawn
  // tears down threads they use and the process aborts.
  let gpu = keep(dawn.create([]));
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  let fallback = false;
  if (!adapter && existsSync(SWIFTSHADER_ICD) && process.env.VK_ICD_FILENAMES !== SWIFTSHADER_ICD) {
    log(`No GPU adapter found; falling back to SwiftShader (CPU) via ${SWIFTSHADER_ICD}.`);
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    gpu = keep(dawn.create([]));
    adapter = await gpu.requestAdapter();
    fallback = true;
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      "No WebGPU adapter found in Node. Install a Vulkan driver (or Debian's chromium package for SwiftShader) and libvulkan1.",
    );
  }
  return await requestDeviceFrom(adapter, fallback, caps);
}

/** A Runtime on the Node GPU with shaders from disk; `caps` lowers its buffer limits. */
export async function createNodeRuntime(
  log?: (msg: string) => void,
  caps?: RuntimeCaps,
): Promise<Runtime> {
  return new Runtime(await acquireNodeGpu(log, caps), loadShaderFromDisk);
}
