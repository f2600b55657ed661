/** Browser host (page or Web Worker): navigator.gpu, shaders bundled by Vite from shaders/. */
import { requestGpu, type RuntimeCaps } from './device.ts';
import { Runtime, type ShaderLoader } from './runtime.ts';
import { InternalError } from '../util/errors.ts';

const sources = import.meta.glob('/shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** Returns `shaders/<name>.wgsl` as bundled by Vite. */
export const loadBundledShader: ShaderLoader = (name) => {
  const s = sources[`/shaders/${name}.wgsl`];
  if (s === undefined) throw new InternalError(`no shader named ${name}`);
  return s;
};

/** A Runtime on navigator.gpu; `caps` lowers its buffer limits. */
export async function createBrowserRuntime(caps?: RuntimeCaps): Promise<Runtime> {
  const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  return new Runtime(await requestGpu(gpu, { caps }), loadBundledShader);
}
