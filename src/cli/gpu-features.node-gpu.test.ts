/**
 * The command line says which hardware paths this GPU offers (shader-f16, subgroup matrices), yes
 * or no, and Dawn's toggles are on only when LONGLORA_DAWN_TOGGLES asks for them.
 */
import { describe, expect, it } from 'vitest';
import { acquireNodeGpu } from '../engine/node-host.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { cliRunner } from '../test/cli.ts';

const run = cliRunner();

describe('the GPU’s optional features on the command line', () => {
  it('info: the GPU line and --json say whether shader-f16 and subgroup matrices are there', async () => {
    const json = JSON.parse(await run('info', '--model', DEMO_DIR, '--context', '64', '--json'));
    const f = json.adapter.features;
    expect(typeof f.shaderF16).toBe('boolean');
    expect(typeof f.subgroupMatrix).toBe('boolean');
    expect(Array.isArray(f.subgroupMatrixConfigs)).toBe(true);
    const line = run
      .stderr()
      .split('\n')
      .find((l) => l.startsWith('GPU: '));
    expect(line).toContain(f.shaderF16 ? ', shader-f16' : '; no shader-f16');
    expect(line).toContain(f.subgroupMatrix ? 'subgroup matrices (' : 'no subgroup matrices');
  });

  it('Dawn toggles: none by default, the listed ones when asked for', async () => {
    const logs: string[] = [];
    const asked = await acquireNodeGpu((m) => logs.push(m), {}, 'allow_unsafe_apis');
    expect(logs).toContain(
      'Dawn toggles enabled (LONGLORA_DAWN_TOGGLES): enable-dawn-features=allow_unsafe_apis',
    );
    // The same adapter either way (toggles change what it may offer, not which it is).
    const plain = await acquireNodeGpu(() => {}, {}, undefined);
    expect(asked.info.name).toBe(plain.info.name);
    asked.device.destroy();
    plain.device.destroy();
  });

  it('a feature the adapter offers can be left off (RuntimeCaps.withoutFeatures)', async () => {
    const full = await acquireNodeGpu();
    const without = await acquireNodeGpu(() => {}, { withoutFeatures: ['subgroups'] });
    expect(without.device.features.has('subgroups')).toBe(false);
    expect(without.info.features).toMatchObject({
      subgroups: false,
      subgroupMaxSize: 0,
      subgroupMatrix: false,
    });
    // Everything else as asked without the cap.
    expect(without.info.features.timestampQuery).toBe(full.info.features.timestampQuery);
    full.device.destroy();
    without.device.destroy();
  });
});
