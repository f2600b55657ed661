/** Node host: WebGPU through the `webgpu` package (Dawn), shaders read from shaders/ on disk. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestDeviceFrom, type GpuHandle, type RuntimeCaps } from './device.ts';
import { WebGPUUnavailableError } from './errors.ts';
import { Runtime, type ShaderLoader } from './runtime.ts';
import { SettingsError } from '../util/errors.ts';

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
 * The environment variable that enables Dawn toggles (comma-separated), e.g.
 * `allow_unsafe_apis` (experimental features such as subgroup matrices) or
 * `vulkan_enable_f16_on_nvidia` (shader-f16 on NVIDIA's Vulkan driver, which Dawn keeps off
 * otherwise). Unset, Dawn runs with its own defaults: nothing unsafe is ever on unless asked for.
 */
export const DAWN_TOGGLES_ENV = 'LONGLORA_DAWN_TOGGLES';

/** Dawn's instance flags for a comma-separated list of toggles (none for an empty one). */
export function dawnFlags(toggles: string | undefined): string[] {
  const names = (toggles ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of names) {
    if (!/^[a-z0-9_]+$/.test(t))
      throw new SettingsError(
        `${DAWN_TOGGLES_ENV}: '${t}' is not a Dawn toggle name (lower-case letters, digits and _, ` +
          `e.g. allow_unsafe_apis,vulkan_enable_f16_on_nvidia)`,
      );
  }
  return names.length ? [`enable-dawn-features=${names.join(',')}`] : [];
}

/**
 * Acquires a GPU in Node. When Dawn finds no adapter and SwiftShader's driver is installed, sets
 * VK_ICD_FILENAMES to it, tries again and says so through `log`. `toggles` (default: the
 * LONGLORA_DAWN_TOGGLES environment variable) are Dawn toggles to enable, said through `log`.
 */
export async function acquireNodeGpu(
  log: (msg: string) => void = () => {},
  caps?: RuntimeCaps,
  toggles: string | undefined = process.env[DAWN_TOGGLES_ENV],
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
  const flags = dawnFlags(toggles);
  if (flags.length) log(`Dawn toggles enabled (${DAWN_TOGGLES_ENV}): ${flags[0]}`);
  // Keep every Dawn instance reachable: if one is garbage-collected while its devices live, Dawn
  // tears down threads they use and the process aborts.
  let gpu = keep(dawn.create(flags));
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  let fallback = false;
  if (!adapter && existsSync(SWIFTSHADER_ICD) && process.env.VK_ICD_FILENAMES !== SWIFTSHADER_ICD) {
    log(`No GPU adapter found; falling back to SwiftShader (CPU) via ${SWIFTSHADER_ICD}.`);
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    gpu = keep(dawn.create(flags));
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
