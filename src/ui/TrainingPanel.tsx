/** Training setup: target context, attention pattern, LoRA, optimizer, and the live memory plan. */
import { LINEAR_NAMES } from '../model/longlora.ts';
import type { AttentionPattern, LoraTarget, RunSettings } from '../worker/protocol.ts';
import { useStudio } from '../store/index.ts';
import { NUMBER_RULES, numberProblems, type NumberSetting } from '../util/setting-rules.ts';
import {
  BASE_QUANT_LABELS,
  BASE_QUANTS,
  OFFLOAD_CHOICES,
  OFFLOAD_LABELS,
  type Offload,
  TRAINABLES,
  type BaseQuant,
  type Trainable,
} from '../train/settings.ts';
import { formatBytes } from './format.ts';
import { MemoryPlanView } from './MemoryPlanView.tsx';
import { EmptyState, Panel } from './Panel.tsx';

const PATTERNS: { value: AttentionPattern; label: string; title: string }[] = [
  { value: 's2', label: 'S²', title: 'Shifted sparse attention (official LongLoRA training path)' },
  { value: 's2roll', label: 'S² roll', title: 'The paper’s Algorithm 1, with wrap-around' },
  { value: 'full', label: 'Full', title: 'Ordinary causal attention' },
];

/** The training settings that are numbers with a range (src/util/setting-rules.ts). */
type NumericSetting = {
  [K in keyof RunSettings]: RunSettings[K] extends number
    ? K extends NumberSetting
      ? K
      : never
    : never;
}[keyof RunSettings];

/** A NumberField bound to one numeric setting; its label and range come from the rule table. */
interface SettingField extends Omit<NumberFieldProps, 'value' | 'onChange' | 'label' | 'error'> {
  setting: NumericSetting;
}

const LORA_FIELDS: SettingField[] = [
  { setting: 'rank', id: 'rank' },
  { setting: 'alpha', id: 'alpha' },
];

const OPTIMIZER_FIELDS: SettingField[] = [
  { setting: 'lr', id: 'lr', step: 'any' },
  { setting: 'warmup', id: 'warmup' },
  { setting: 'gradAccum', id: 'accum' },
  { setting: 'evalEvery', id: 'eval' },
  { setting: 'checkpointEvery', id: 'ckpt' },
  { setting: 'checkpointMinutes', id: 'ckpt-min', step: 'any' },
  { setting: 'keepCheckpoints', id: 'ckpt-keep' },
];

/** Stored types that are float dtypes (the rest are a quantized GGUF's ggml types). */
const FLOAT_TYPES = new Set(['F32', 'F16', 'BF16']);

/** The "Also train (LoRA+)" checkboxes. */
const ALSO_TRAIN: { trainable: Trainable; label: string }[] = [
  { trainable: 'embed', label: 'Embeddings' },
  { trainable: 'norm', label: 'Norms' },
];

/** The Training panel (setup form). */
export function TrainingPanel() {
  const s = useStudio((st) => st.settings);
  const model = useStudio((st) => st.model.summary);
  const plan = useStudio((st) => st.plan);
  const set = useStudio((st) => st.setSettings);
  const runState = useStudio((st) => st.run.state);
  const locked = ['starting', 'running', 'paused'].includes(runState);
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
  const problems = numberProblems(s);
  const field = ({ setting, ...props }: SettingField) => (
    <NumberField
      key={props.id}
      {...props}
      label={NUMBER_RULES[setting].label}
      min={props.min ?? NUMBER_RULES[setting].min}
      value={s[setting]}
      error={problems[setting]}
      onChange={(v) => set({ [setting]: v })}
    />
  );
  // Why the fields cannot be changed now (shown above them, and as the group's description).
  const lockedWhy = locked
    ? runState === 'paused'
      ? 'The run is paused: its settings stay as they were started. Stop it to change them for a new run.'
      : 'A run is going: stop it to change the settings for a new run.'
    : undefined;
  const toggleTarget = (t: LoraTarget, on: boolean) =>
    set({ targets: on ? [...s.targets, t] : s.targets.filter((x) => x !== t) });
  return (
    <Panel id="training" title="Training" hint="Target context, LongLoRA attention and optimizer.">
      {lockedWhy && (
        <p className="locked-note" id="settings-locked" role="note">
          {lockedWhy}
        </p>
      )}
      <fieldset
        disabled={locked}
        className="fields"
        aria-describedby={lockedWhy ? 'settings-locked' : undefined}
      >
        {field({
          setting: 'context',
          id: 'ctx',
          step: 8,
          note: problems.context
            ? undefined
            : plan
              ? `RoPE ×${plan.ropeFactor} · group ${plan.groupSize} tokens`
              : 'planning…',
        })}
        {field({ setting: 'steps', id: 'steps', note: 'optimizer steps' })}
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
                  checked={s.targets.includes(t)}
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
            {ALSO_TRAIN.map(({ trainable, label }) => (
              <label className="check" key={trainable}>
                <input
                  type="checkbox"
                  checked={s.trainable.includes(trainable)}
                  onChange={(e) =>
                    set({
                      trainable: TRAINABLES.filter((t) =>
                        t === trainable ? e.target.checked : s.trainable.includes(t),
                      ),
                    })
                  }
                />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="base-quant">Base weights</label>
          <select
            id="base-quant"
            value={s.baseQuant}
            aria-describedby="base-quant-note"
            onChange={(e) => set({ baseQuant: e.target.value as BaseQuant })}
          >
            {BASE_QUANTS.map((q) => (
              <option key={q} value={q}>
                {BASE_QUANT_LABELS[q]}
              </option>
            ))}
          </select>
          <span className="field-note" id="base-quant-note">
            {model.storedTypes.some((t) => !FLOAT_TYPES.has(t.type))
              ? 'float weights quantized on load; quantized ones stay as the file stores them'
              : 'frozen weights on the GPU, quantized on load (llama.cpp’s quantizers)'}
          </span>
        </div>
        <div className="field">
          <label htmlFor="offload">Keep checkpoints in</label>
          <select
            id="offload"
            value={s.offload}
            aria-describedby="offload-note"
            onChange={(e) => set({ offload: e.target.value as Offload })}
          >
            {OFFLOAD_CHOICES.map((o) => (
              <option key={o} value={o}>
                {OFFLOAD_LABELS[o]}
              </option>
            ))}
          </select>
          <span className="field-note" id="offload-note">
            each layer’s input between the forward and its backward; system memory frees the GPU for
            longer contexts, with the same results (automatic: only when the plan needs it)
          </span>
        </div>
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
  /** Why the value cannot be used (shown under the input, which is marked invalid). */
  error?: string;
  onChange(v: number): void;
}

/** A labelled number input; an empty field is NaN (flagged by the settings check, not coerced). */
function NumberField({ id, label, value, min, step, note, error, onChange }: NumberFieldProps) {
  const described = [error && `${id}-error`, note && `${id}-note`].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        min={min}
        step={step}
        value={Number.isNaN(value) ? '' : value}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        onChange={(e) => onChange(e.target.value === '' ? NaN : Number(e.target.value))}
      />
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
      {note && (
        <span className="field-note" id={`${id}-note`}>
          {note}
        </span>
      )}
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
