/** Browser host (page or Web Worker): navigator.gpu, shaders bundled by Vite from shaders/. */
import { requestGpu } from './device.ts';
import { Runtime, type ShaderLoader } from './runtime.ts';

const sources = import.meta.glob('/shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** Returns `shaders/<name>.wgsl` as bundled by Vite. */
export const loadBundledShader: ShaderLoader = (name) => {
  const s = sources[`/shaders/${name}.wgsl`];
  if (s === undefined) throw new Error(`no shader named ${name}`);
  return s;
};

/** A Runtime on navigator.gpu. */
export async function createBrowserRuntime(): Promise<Runtime> {
  const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  return new Runtime(await requestGpu(gpu), loadBundledShader);
}
