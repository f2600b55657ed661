/** Planned GPU bytes per category against the adapter's limits, with what stops a run and what to change. */
import { useState } from 'react';
import { MEMORY_CATEGORIES } from '../engine/memory.ts';
import { useStudio } from '../store/index.ts';
import { budgetWords, DEFAULT_MEMORY_BUDGET_TEXT } from '../util/memory-budget.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes, formatBytesByType } from './format.ts';
import { CATEGORY_COLORS } from './memory-colors.ts';

const GiB = 2 ** 30;
/** Common cards' memory, GiB (a card sold as 8 GB has 8 GiB). */
const PRESETS = [4, 6, 8, 12, 16, 24, 48];

/** The GPU memory the user states (WebGPU cannot report it): presets or a custom value. */
function GpuMemoryField() {
  const stated = useStudio((s) => s.gpuMemory);
  const setGpuMemory = useStudio((s) => s.setGpuMemory);
  const [custom, setCustom] = useState(false);
  const gb = stated === null ? null : stated / GiB;
  const preset = gb !== null && PRESETS.includes(gb);
  const choice =
    custom || (gb !== null && !preset) ? 'custom' : gb === null ? 'assumed' : String(gb);
  return (
    <div className="field-row">
      <label htmlFor="gpu-memory">GPU memory</label>
      <select
        id="gpu-memory"
        value={choice}
        aria-describedby="gpu-memory-note"
        onChange={(e) => {
          const v = e.target.value;
          setCustom(v === 'custom');
          if (v === 'assumed') setGpuMemory(null);
          else if (v !== 'custom') setGpuMemory(Number(v) * GiB);
        }}
      >
        <option value="assumed">Not stated</option>
        {PRESETS.map((p) => (
          <option key={p} value={String(p)}>
            {p} GiB
          </option>
        ))}
        <option value="custom">Custom…</option>
      </select>
      {choice === 'custom' && (
        <input
          type="number"
          aria-label="Custom GPU memory (GiB)"
          min={0.125}
          step={0.125}
          defaultValue={gb ?? 10}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (Number.isFinite(v) && v > 0) setGpuMemory(v * GiB);
          }}
        />
      )}
    </div>
  );
}

/** The live memory plan beside the training settings. */
export function MemoryPlanView() {
  const plan = useStudio((s) => s.plan);
  const error = useStudio((s) => s.planError);
  if (error) return <ErrorNote error={error} />;
  if (!plan) return null;
  const scale = Math.max(plan.total, plan.limits.budget);
  return (
    <div className="field" aria-label="Planned GPU memory" role="group">
      <GpuMemoryField />
      <span className="label">
        Planned GPU memory: <strong>{formatBytes(plan.total)}</strong> of{' '}
        {plan.budgetStated
          ? `your ${formatBytes(plan.limits.budget)}`
          : budgetWords(plan.limits.budget, false)}
      </span>
      <div className="membar" aria-hidden="true">
        {MEMORY_CATEGORIES.map((c) => (
          <span
            key={c}
            style={{ width: `${(plan.bytes[c] / scale) * 100}%`, background: CATEGORY_COLORS[c] }}
          />
        ))}
      </div>
      <div className="legend">
        {MEMORY_CATEGORIES.map((c) => (
          <LegendRow
            key={c}
            color={CATEGORY_COLORS[c]}
            name={c}
            value={formatBytes(plan.bytes[c])}
          />
        ))}
        {plan.hostBytes > 0 && (
          <LegendRow
            color="transparent"
            name={`System memory (${[
              plan.host.checkpoints > 0 && 'offloaded checkpoints',
              plan.host.optimizer > 0 && 'embedding AdamW state',
            ]
              .filter(Boolean)
              .join(', ')})`}
            value={`${formatBytes(plan.hostBytes)} of ${plan.hostBudget.stated ? '' : 'an assumed '}${formatBytes(plan.hostBudget.bytes)}`}
          />
        )}
        <LegendRow
          color="transparent"
          name="largest buffer"
          value={`${formatBytes(plan.largestBuffer)} / ${formatBytes(plan.limits.maxStorageBufferBindingSize)}`}
        />
      </div>
      <p className="field-note" aria-label="Base weights by type">
        Base weights on the GPU: {formatBytesByType(plan.baseTypes)}
      </p>
      <p className="field-note" id="gpu-memory-note">
        WebGPU does not report the GPU’s memory: state it above (remembered for this GPU)
        {plan.budgetStated ? '.' : `, or the plan assumes ${DEFAULT_MEMORY_BUDGET_TEXT}.`}
      </p>
      {plan.problems.map((p) => (
        <div className="callout warn" role="alert" key={p.message}>
          <strong>Can’t start:</strong> {p.message} <em>{p.fix}</em>
        </div>
      ))}
      {plan.warnings.map((p) => (
        <div className="callout" role="status" key={p.message}>
          <strong>More than your GPU memory:</strong> {p.message} <em>{p.fix}</em>
        </div>
      ))}
    </div>
  );
}

function LegendRow({ color, name, value }: { color: string; name: string; value: string }) {
  return (
    <>
      <span className="swatch" style={{ background: color }} />
      <span>{name}</span>
      <span>{value}</span>
    </>
  );
}
