import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { layerViolation } from './eslint-layers.mjs';

/** Lints `code` as if it were the file `filePath` of this repository, with the project's config. */
async function lint(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint();
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'layers/only-look-down')
    .map((m) => m.message);
}

describe('layers only look down (ESLint layers/only-look-down)', () => {
  it('reports an upward import in a fixture', async () => {
    const messages = await lint(
      'src/engine/upward-fixture.ts',
      "import { LlamaModel } from '../model/llama.ts';\nexport const m = LlamaModel;\n",
    );
    expect(messages).toEqual([
      'src/engine/ may not import src/model/llama.ts: layers only look down (src/engine/ may import src/util)',
    ]);
  }, 60_000);

  it('reports production code that imports the references or test helpers, not tests', async () => {
    const ref = "import { matmulNT } from '../reference/matmul.ts';\nexport const f = matmulNT;\n";
    expect(await lint('src/engine/kernels/ref-fixture.ts', ref.replace('../', '../../'))).toEqual([
      'production code may not import the float64 reference src/reference/matmul.ts',
    ]);
    expect(
      await lint('src/engine/kernels/ref-fixture.test.ts', ref.replace('../', '../../')),
    ).toEqual([]);
    expect(await lint('src/worker/self-test.ts', ref)).toEqual([]);
    expect(await lint('src/worker/other.ts', ref)).toHaveLength(1);
  }, 60_000);

  it('lets the page reach the engine only through the worker protocol and pure rule modules', () => {
    expect(layerViolation('ui/App.tsx', 'store/index.ts')).toBeNull();
    expect(layerViolation('ui/App.tsx', 'worker/protocol.ts')).toBeNull();
    expect(layerViolation('ui/TrainingPanel.tsx', 'model/longlora.ts')).toBeNull();
    expect(layerViolation('ui/App.tsx', 'worker/studio-engine.ts')).toMatch(/may not import/);
    expect(layerViolation('store/index.ts', 'ui/App.tsx')).toMatch(/may not import/);
    expect(layerViolation('model/plan.ts', 'train/trainer.ts')).toMatch(/may not import/);
    expect(layerViolation('io/dtype.ts', 'engine/runtime.ts')).toMatch(/may not import/);
    expect(layerViolation('train/trainer.ts', 'model/llama.ts')).toBeNull();
    expect(layerViolation('model/session.ts', 'test/parity.ts')).toMatch(/test helper/);
  });
});
