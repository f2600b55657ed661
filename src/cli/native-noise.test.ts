import { describe, expect, it } from 'vitest';
import { NativeNoiseFilter } from './native-noise.ts';

/** What Dawn, the Vulkan loader and Mesa printed around `longlora train` on SwiftShader (verbatim). */
const NOISE = `error: XDG_RUNTIME_DIR is invalid or not set in the environment.
error: XDG_RUNTIME_DIR is invalid or not set in the environment.
Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.
 - While initializing adapter (backend=BackendType::Vulkan)
    at InitializeImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:257)

`;
const MISSING_LOADER = `Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory
    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)

`;

const OURS = [
  'No GPU adapter found; falling back to SwiftShader (CPU) via /usr/lib/chromium/vk_swiftshader_icd.json.',
  'GPU: google swiftshader (SwiftShader driver 5.0.0); binds 1073741824 B, buffers 1073741824 B',
  'plan: 2.36 MiB of GPU memory',
  '',
  'step 1/2 loss 2.7127 (smoothed 2.7127) lr 1.00e-6 grad-norm 3.660 45 tok/s eta 1 s',
];

/** Runs `text` through a filter in chunks of `size` characters. */
function filtered(text: string, size: number): string {
  const f = new NativeNoiseFilter();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += f.push(text.slice(i, i + size));
  return out + f.end();
}

describe('the native stderr filter', () => {
  const stream =
    NOISE +
    `${OURS[0]}\n` +
    MISSING_LOADER +
    NOISE.split('\n').slice(0, 2).join('\n') +
    '\n' +
    OURS.slice(1).join('\n') +
    '\n';

  for (const size of [1, 3, 17, 64, 100_000]) {
    it(`drops the driver's lines and keeps every line of ours (chunks of ${size})`, () => {
      expect(filtered(stream, size)).toBe(OURS.join('\n') + '\n');
    });
  }

  it('keeps a "Warning:" line that is not followed by a Dawn source line, and its context', () => {
    const text = 'Warning: the data has few blocks\n - consider more text\nstep 1/1 loss 2.0\n';
    expect(filtered(text, 5)).toBe(text);
    // Held back at the end of the stream: still printed.
    expect(filtered('Warning: last line\n', 4)).toBe('Warning: last line\n');
    expect(filtered('no newline at the end', 4)).toBe('no newline at the end');
  });

  it('drops only the blank line that ends a Dawn message', () => {
    expect(filtered(`${MISSING_LOADER}\nnext\n`, 7)).toBe('\nnext\n');
  });
});
