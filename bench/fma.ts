/**
 * The adapter's FMA peak: a kernel of independent vec4 multiply-add chains held in registers (no
 * memory traffic), so its rate is what the adapter's ALUs give WGSL. Benchmarks report model
 * GFLOP/s as a fraction of it, measured in the same run (on a shared CPU adapter both move together).
 */
import type { Runtime } from '../src/engine/runtime.ts';

const SHADER = 'bench.fma_peak';

const CODE = `
override ITERS: u32 = 1024u;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: vec4<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = f32(gid.x) * 1e-7;
  var a0 = vec4<f32>(s);
  var a1 = a0 + 1.0;
  var a2 = a0 + 2.0;
  var a3 = a0 + 3.0;
  var a4 = a0 + 4.0;
  var a5 = a0 + 5.0;
  var a6 = a0 + 6.0;
  var a7 = a0 + 7.0;
  let m = vec4<f32>(p.x);
  let c = vec4<f32>(p.y);
  for (var i = 0u; i < ITERS; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  let r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  out[gid.x] = r.x + r.y + r.z + r.w;
}
`;

/**
 * GFLOP/s of the FMA kernel (2 FLOP per multiply-add), the median of `runs` timed dispatches after a
 * warm-up. `lanes` × `iters` sizes one dispatch: ~1 s on SwiftShader by default; raise it on a GPU.
 */
export async function fmaPeakGflops(
  rt: Runtime,
  opts: { lanes?: number; iters?: number; runs?: number } = {},
): Promise<number> {
  const lanes = opts.lanes ?? (rt.info.isSoftware ? 32 * 1024 : 2 * 1024 * 1024);
  const iters = opts.iters ?? (rt.info.isSoftware ? 2048 : 16384);
  try {
    rt.registerShader(SHADER, CODE);
  } catch {
    // already registered on this runtime
  }
  const out = rt.tensor([lanes], 'f32', 'workspace', 'fma peak out');
  const params = new Float32Array([0.999, 0.001, 0, 0]).buffer;
  const groups = Math.ceil(lanes / 64);
  if (groups > rt.device.limits.maxComputeWorkgroupsPerDimension)
    throw new Error(`fma peak: ${groups} workgroups exceed this adapter's limit`);
  const run = () =>
    rt.dispatch({
      shader: SHADER,
      constants: { ITERS: iters },
      bindings: [out],
      params,
      workgroups: [groups],
      label: 'fma peak',
    });
  try {
    run();
    await rt.sync();
    const times: number[] = [];
    for (let i = 0; i < (opts.runs ?? 3); i++) {
      const t0 = performance.now();
      run();
      await rt.sync();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[times.length >> 1]!;
    return (groups * 64 * iters * 8 * 4 * 2) / (ms * 1e6);
  } finally {
    out.destroy();
  }
}
