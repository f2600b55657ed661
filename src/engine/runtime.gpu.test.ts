import { describe, expect, it } from 'vitest';
import { DeviceLostError, OutOfMemoryError, ShaderCompilationError } from './errors.ts';
import { matmulNT } from './kernels/matmul.ts';
import { uniformLayout } from './uniforms.ts';
import { freshRuntime, hostName, testRuntime } from '../test/gpu.ts';

describe('Runtime', () => {
  it('gets a real WebGPU adapter and reports its features and limits', async () => {
    const rt = await testRuntime();
    expect(rt.info.name.length).toBeGreaterThan(0);
    expect(rt.info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(typeof rt.info.features.shaderF16).toBe('boolean');
    expect(typeof rt.info.features.subgroups).toBe('boolean');
    // The device got the adapter's limits, not the spec defaults.
    expect(rt.device.limits.maxBufferSize).toBe(rt.info.limits.maxBufferSize);
    console.log(`[${hostName()}] adapter: ${rt.info.name} (${rt.info.description})`);
  });

  it('accounts bytes per category with current and peak, and destroy() returns them to zero', async () => {
    const rt = await testRuntime();
    const base = rt.memory.snapshot().current;
    const w = rt.tensor([10, 3], 'bf16', 'weights', 'w'); // 60 bytes → 60
    const g = rt.tensor([7], 'f32', 'gradients', 'g'); // 28
    const a = rt.tensor([5], 'f16', 'activations', 'a'); // 10 → padded to 12
    let s = rt.memory.snapshot();
    expect(s.current.weights - base.weights).toBe(60);
    expect(s.current.gradients - base.gradients).toBe(28);
    expect(s.current.activations - base.activations).toBe(12);
    g.destroy();
    s = rt.memory.snapshot();
    expect(s.current.gradients).toBe(base.gradients);
    expect(s.peak.gradients).toBeGreaterThanOrEqual(base.gradients + 28);
    w.destroy();
    a.destroy();
    expect(rt.memory.snapshot().current).toEqual(base);
  });

  it('caches pipelines by (shader, entry, constants)', async () => {
    const rt = await testRuntime();
    const p1 = rt.pipeline('matmul.tiled');
    const n = rt.pipelineCount;
    expect(rt.pipeline('matmul.tiled')).toBe(p1);
    expect(rt.pipelineCount).toBe(n);
  });

  it('raises ShaderCompilationError with WGSL line numbers', async () => {
    const rt = await testRuntime();
    rt.registerShader(
      'broken',
      '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  x[0] = undefined_thing;\n}\n',
    );
    const err = await rt.compile('broken').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompilationError);
    const e = err as ShaderCompilationError;
    expect(e.messages.some((m) => m.type === 'error' && m.lineNum === 4)).toBe(true);
    expect(e.message).toContain('broken.wgsl:4:');
  });

  it('splices // #include files and reports errors at the line of the file they are in', async () => {
    const rt = await testRuntime();
    rt.registerShader('helper_ok', 'fn twice(v: f32) -> f32 {\n  return 2.0 * v;\n}');
    rt.registerShader(
      'uses_helper',
      '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n// #include helper_ok\n@compute @workgroup_size(1)\nfn main() { x[0] = twice(x[0]); }\n',
    );
    const t = rt.tensor([1], 'f32', 'activations', 'x', new Float32Array([21]));
    rt.dispatch({ shader: 'uses_helper', bindings: [t], workgroups: [1] });
    expect(Array.from(await rt.read(t))).toEqual([42]);
    t.destroy();
    // An error in the included file names that file and its own line; the includer's lines after
    // the include keep their own numbers.
    rt.registerShader('helper_bad', '// a helper\nfn h() -> f32 {\n  return missing_name;\n}');
    rt.registerShader(
      'uses_bad',
      '// #include helper_bad\n@compute @workgroup_size(1)\nfn main() {\n  let y: f32 = h() + also_missing;\n}\n',
    );
    const err = await rt.compile('uses_bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompilationError);
    const msg = (err as ShaderCompilationError).message;
    expect(msg).toContain('helper_bad.wgsl:3:');
    expect(msg).toMatch(/uses_bad\.wgsl:4:.*also_missing|helper_bad\.wgsl:3:.*missing_name/);
  });

  it('splices the listing layout at // #params, keeps error lines, refuses a shader none lists', async () => {
    const rt = await testRuntime();
    const L = uniformLayout(
      { n: 'u32', s: 'f32' },
      { shaders: ['params_scale', 'params_bad'], consts: { TWO: 2 } },
    );
    rt.registerShader(
      'params_scale',
      '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@group(0) @binding(1) var<uniform> p: Params;\n// #params Params\n@compute @workgroup_size(1)\nfn main() {\n  if (p.n == TWO) { x[0] = x[0] * p.s; }\n}\n',
    );
    const t = rt.tensor([1], 'f32', 'activations', 'x', new Float32Array([7]));
    rt.dispatch({
      shader: 'params_scale',
      bindings: [t],
      params: L.pack({ n: 2, s: 3 }),
      workgroups: [1],
    });
    expect(Array.from(await rt.read(t))).toEqual([21]);
    t.destroy();
    // The struct (4 lines) and the constant take the place of line 1; line 4 is still line 4.
    rt.registerShader(
      'params_bad',
      '// #params Params\n@compute @workgroup_size(1)\nfn main() {\n  let y = missing_after_params;\n}\n',
    );
    const err = await rt.compile('params_bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompilationError);
    expect((err as ShaderCompilationError).message).toContain('params_bad.wgsl:4:');
    rt.registerShader(
      'params_orphan',
      '// #params Params\n@compute @workgroup_size(1)\nfn main() {}',
    );
    await expect(rt.compile('params_orphan')).rejects.toThrow(
      'params_orphan.wgsl:1: #params Params: no uniform layout lists shader params_orphan',
    );
  });

  it('destroys a tensor that recorded, unsubmitted commands use after they are submitted', async () => {
    const rt = await testRuntime();
    rt.registerShader(
      'destroy_pending',
      '@group(0) @binding(0) var<storage, read> x: array<f32>;\n@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(4)\nfn main(@builtin(global_invocation_id) g: vec3<u32>) {\n  y[g.x] = x[g.x] + 1.0;\n}\n',
    );
    await rt.sync();
    const base = rt.memory.snapshot().current.activations;
    const x = rt.tensor([4], 'f32', 'activations', 'x', new Float32Array([1, 2, 3, 4]));
    const y = rt.tensor([4], 'f32', 'activations', 'y');
    const z = rt.tensor([4], 'f32', 'activations', 'z');
    rt.dispatch({ shader: 'destroy_pending', bindings: [x, y], workgroups: [1] });
    rt.copy(x, z);
    // Both are recorded, neither submitted: x's buffer must outlive the submit.
    x.destroy();
    expect(x.destroyed).toBe(true);
    expect(rt.memory.snapshot().current.activations - base).toBe(32);
    expect(Array.from(await rt.read(y))).toEqual([2, 3, 4, 5]);
    expect(Array.from(await rt.read(z))).toEqual([1, 2, 3, 4]);
    await rt.sync(); // no validation error (a destroyed buffer in a submit) is pending
    // Dropped unsubmitted commands free a tensor destroyed under them too.
    const w = rt.tensor([4], 'f32', 'activations', 'w', new Float32Array([5, 6, 7, 8]));
    rt.dispatch({ shader: 'destroy_pending', bindings: [w, y], workgroups: [1] });
    w.destroy();
    rt.discardRecorded();
    expect(Array.from(await rt.read(y))).toEqual([2, 3, 4, 5]);
    await rt.sync();
    y.destroy();
    z.destroy();
    expect(rt.memory.snapshot().current.activations).toBe(base);
  });

  it('refuses a tensor larger than the device allows with OutOfMemoryError', async () => {
    const rt = await testRuntime();
    const before = rt.memory.snapshot().current;
    expect(() => rt.tensor([rt.info.limits.maxBufferSize], 'f32', 'activations', 'huge')).toThrow(
      OutOfMemoryError,
    );
    expect(rt.memory.snapshot().current).toEqual(before);
  });

  it('turns a lost device into DeviceLostError at the next operation', async () => {
    const rt = await freshRuntime();
    const lost = new Promise<DeviceLostError>((resolve) => rt.onDeviceLost(resolve));
    const a = rt.tensor([4, 4], 'f32', 'activations', 'a', new Float32Array(16).fill(1));
    const c = rt.tensor([4, 4], 'f32', 'activations', 'c');
    rt.device.destroy();
    const e = await lost;
    expect(e).toBeInstanceOf(DeviceLostError);
    expect(() => matmulNT(rt, a, a, c, 4, 4, 4)).toThrow(DeviceLostError);
  });
});
