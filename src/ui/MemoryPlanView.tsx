/** Planned GPU bytes per category against the adapter's limits, with what stops a run and what to change. */
import { MEMORY_CATEGORIES } from '../engine/memory.ts';
import { useStudio } from '../store/index.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes } from './format.ts';
import { CATEGORY_COLORS } from './memory-colors.ts';

/** The live memory plan beside the training settings. */
export function MemoryPlanView() {
  const plan = useStudio((s) => s.plan);
  const error = useStudio((s) => s.planError);
  if (error) return <ErrorNote error={error} />;
  if (!plan) return null;
  const scale = Math.max(plan.total, plan.limits.budget);
  return (
    <div className="field" aria-label="Planned GPU memory" role="group">
      <span className="label">
        Planned GPU memory: <strong>{formatBytes(plan.total)}</strong> of an assumed{' '}
        {formatBytes(plan.limits.budget)}
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
        <LegendRow
          color="transparent"
          name="largest buffer"
          value={`${formatBytes(plan.largestBuffer)} / ${formatBytes(plan.limits.maxStorageBufferBindingSize)}`}
        />
      </div>
      <p className="field-note">
        WebGPU does not report the GPU’s memory; the budget is an assumption.
      </p>
      {plan.problems.map((p) => (
        <div className="callout warn" role="alert" key={p.message}>
          <strong>Can’t start:</strong> {p.message} <em>{p.fix}</em>
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
