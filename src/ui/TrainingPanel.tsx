/** Training setup: target context, attention pattern, LoRA, optimizer, and the live memory plan. */
import { LINEAR_NAMES } from '../model/longlora.ts';
import type { AttentionPattern, LoraTarget, TrainingSettings } from '../worker/protocol.ts';
import { useStudio } from '../store/index.ts';
import { formatBytes } from './format.ts';
import { MemoryPlanView } from './MemoryPlanView.tsx';
import { EmptyState, Panel } from './Panel.tsx';

const PATTERNS: { value: AttentionPattern; label: string; title: string }[] = [
  { value: 's2', label: 'S²', title: 'Shifted sparse attention (official LongLoRA training path)' },
  { value: 's2roll', label: 'S² roll', title: 'The paper’s Algorithm 1, with wrap-around' },
  { value: 'full', label: 'Full', title: 'Ordinary causal attention' },
];

/** The training settings that are numbers. */
type NumericSetting = {
  [K in keyof TrainingSettings]: TrainingSettings[K] extends number ? K : never;
}[keyof TrainingSettings];

/** A NumberField bound to one numeric setting. */
interface SettingField extends Omit<NumberFieldProps, 'value' | 'onChange'> {
  setting: NumericSetting;
}

const LORA_FIELDS: SettingField[] = [
  { setting: 'loraRank', id: 'rank', label: 'LoRA rank', min: 1 },
  { setting: 'loraAlpha', id: 'alpha', label: 'LoRA alpha', min: 1 },
];

const OPTIMIZER_FIELDS: SettingField[] = [
  { setting: 'learningRate', id: 'lr', label: 'Learning rate', step: 'any', min: 0 },
  { setting: 'warmupSteps', id: 'warmup', label: 'Warmup', min: 0 },
  { setting: 'gradAccumulation', id: 'accum', label: 'Gradient accumulation', min: 1 },
  { setting: 'evalInterval', id: 'eval', label: 'Evaluate every', min: 0 },
  { setting: 'checkpointInterval', id: 'ckpt', label: 'Checkpoint every', min: 0 },
  {
    setting: 'checkpointMinutes',
    id: 'ckpt-min',
    label: 'Checkpoint minutes',
    step: 'any',
    min: 0,
  },
  { setting: 'keepCheckpoints', id: 'ckpt-keep', label: 'Keep checkpoints', min: 0 },
];

/** The "Also train (LoRA+)" checkboxes. */
const ALSO_TRAIN: { setting: 'trainEmbed' | 'trainNorm'; label: string }[] = [
  { setting: 'trainEmbed', label: 'Embeddings' },
  { setting: 'trainNorm', label: 'Norms' },
];

/** The Training panel (setup form). */
export function TrainingPanel() {
  const s = useStudio((st) => st.settings);
  const model = useStudio((st) => st.model.summary);
  const plan = useStudio((st) => st.plan);
  const set = useStudio((st) => st.setSettings);
  const locked = useStudio((st) => ['starting', 'running', 'paused'].includes(st.run.state));
  if (!s || !model) {
    return (
      <Panel
        id="training"
        title="Training"
        hint="Target context, LongLoRA attention and optimizer."
      >
        <EmptyState>Load a model to set up training.</EmptyState>
      </Panel>
    );
  }
  const field = ({ setting, ...props }: SettingField) => (
    <NumberField
      key={props.id}
      {...props}
      value={s[setting]}
      onChange={(v) => set({ [setting]: v })}
    />
  );
  const toggleTarget = (t: LoraTarget, on: boolean) =>
    set({ loraTargets: on ? [...s.loraTargets, t] : s.loraTargets.filter((x) => x !== t) });
  return (
    <Panel id="training" title="Training" hint="Target context, LongLoRA attention and optimizer.">
      <fieldset disabled={locked} className="fields">
        <NumberField
          id="ctx"
          label="Target context"
          value={s.targetContext}
          min={8}
          step={8}
          onChange={(v) => set({ targetContext: v })}
          note={plan ? `RoPE ×${plan.ropeFactor} · group ${plan.groupSize} tokens` : 'planning…'}
        />
        <NumberField
          id="steps"
          label="Steps"
          value={s.steps}
          min={1}
          onChange={(v) => set({ steps: v })}
          note="optimizer steps"
        />
        <fieldset className="wide">
          <legend>Attention pattern</legend>
          <div className="segmented">
            {PATTERNS.map((p) => (
              <label key={p.value} title={p.title}>
                <input
                  type="radio"
                  name="pattern"
                  value={p.value}
                  checked={s.attention === p.value}
                  onChange={() => set({ attention: p.value })}
                />
                {p.label}
              </label>
            ))}
          </div>
        </fieldset>
        {LORA_FIELDS.map(field)}
        <fieldset className="wide">
          <legend>LoRA targets</legend>
          <div className="checks">
            {LINEAR_NAMES.map((t) => (
              <label className="check" key={t}>
                <input
                  type="checkbox"
                  checked={s.loraTargets.includes(t)}
                  onChange={(e) => toggleTarget(t, e.target.checked)}
                />
                <code>{t}</code>
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset className="wide">
          <legend>Also train (LoRA+)</legend>
          <div className="checks">
            {ALSO_TRAIN.map(({ setting, label }) => (
              <label className="check" key={setting}>
                <input
                  type="checkbox"
                  checked={s[setting]}
                  onChange={(e) => set({ [setting]: e.target.checked })}
                />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        {OPTIMIZER_FIELDS.map(field)}
      </fieldset>
      <CheckpointSize bytes={plan?.checkpointBytes ?? null} keep={s.keepCheckpoints} />
      <MemoryPlanView />
    </Panel>
  );
}

interface NumberFieldProps {
  id: string;
  label: string;
  value: number;
  min?: number;
  step?: number | 'any';
  /** A short line under the input (derived values, units). */
  note?: string;
  onChange(v: number): void;
}

/** A labelled number input; an empty field is NaN (flagged by the settings check, not coerced). */
function NumberField({ id, label, value, min, step, note, onChange }: NumberFieldProps) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        min={min}
        step={step}
        value={Number.isNaN(value) ? '' : value}
        onChange={(e) => onChange(e.target.value === '' ? NaN : Number(e.target.value))}
      />
      {note && <span className="field-note">{note}</span>}
    </div>
  );
}

/** What one checkpoint of the run takes in browser storage, and what the kept ones take, against what is free. */
function CheckpointSize({ bytes, keep }: { bytes: number | null; keep: number }) {
  const usage = useStudio((st) => st.checkpoints.usage);
  const quota = useStudio((st) => st.checkpoints.quota);
  if (bytes === null) return null;
  const free = usage !== null && quota !== null ? Math.max(0, quota - usage) : null;
  // A new checkpoint is written before the oldest kept one is deleted.
  const held = keep > 0 ? (keep + 1) * bytes : null;
  return (
    <p className="muted" aria-label="Checkpoint size">
      Each checkpoint: {formatBytes(bytes)}
      {held !== null ? ` · ${keep} kept: up to ${formatBytes(held)}` : ' · all kept'}
      {free !== null ? ` · ${formatBytes(free)} of browser storage free` : ''}
      {free !== null && bytes > free
        ? ' — not even one checkpoint fits: Start will refuse.'
        : free !== null && held !== null && held > free
          ? ' — the kept checkpoints may not all fit.'
          : ''}
    </p>
  );
}
