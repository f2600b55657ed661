/** Export: the PEFT adapter (.zip) and, optionally, the merged model. */
import { useState } from 'react';
import { downloadAdapter, exportGguf } from '../store/actions.ts';
import type { ShownError } from '../store/errors.ts';
import { useStudio } from '../store/index.ts';
import type { RunState } from '../worker/protocol.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes } from './format.ts';
import { ProgressBar } from './LoadProgressBar.tsx';
import { Panel } from './Panel.tsx';

/** The Export panel. */
/**
 * Why the exports cannot run yet (null when they can): they need a loaded model and a run that has
 * trained (or been resumed) in this page; while one is training they wait for the GPU.
 */
function exportBlocker(hasModel: boolean, state: RunState): string | null {
  if (!hasModel) return 'Load a model and train (or resume) a run to export its adapter.';
  if (state === 'idle' || state === 'starting')
    return 'Train or resume a run first: there is no trained adapter to export yet.';
  if (state === 'failed')
    return 'The run stopped with an error: resume it from a checkpoint to export its adapter.';
  return null;
}

export function ExportPanel() {
  const hasModel = useStudio((s) => !!s.model.summary);
  const state = useStudio((s) => s.run.state);
  const blocker = exportBlocker(hasModel, state);
  const ready = blocker === null;
  const [merged, setMerged] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    const r = await downloadAdapter(merged);
    setBusy(false);
    if (r.ok) setDone(`${r.value.name} · ${formatBytes(r.value.bytes.byteLength)}`);
    else setError(r.error);
  };
  return (
    <Panel
      id="export"
      title="Export"
      hint="A PEFT LoRA adapter with the long-context config and a README."
    >
      <p className="muted">
        The .zip holds <code>adapter_config.json</code>, <code>adapter_model.safetensors</code>,{' '}
        <code>trainable_params.bin</code> (the embeddings and norms the official LongLoRA scripts
        load; also as <code>.safetensors</code>) and <code>config.json</code> with{' '}
        <code>rope_scaling</code>.
      </p>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          disabled={!ready || busy}
          aria-describedby={blocker ? 'export-blocker' : undefined}
          aria-description={ready && busy ? 'Exporting the adapter: wait for it.' : undefined}
          onClick={() => void run()}
        >
          Export adapter
        </button>
        <label className="check">
          <input type="checkbox" checked={merged} onChange={(e) => setMerged(e.target.checked)} />
          Include the merged model
        </label>
      </div>
      {blocker && (
        <p className="muted" id="export-blocker">
          {blocker}
        </p>
      )}
      {done && <p role="status">Saved {done}</p>}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
      <GgufExport ready={ready} />
    </Panel>
  );
}

type GgufKind = 'merged' | 'lora';
type GgufDtype = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_k_m' | 'q6_k';

/** "Export GGUF": the trained run for llama.cpp (Ollama, LM Studio), streamed to disk. */
function GgufExport({ ready }: { ready: boolean }) {
  const name = useStudio((s) => s.model.summary?.name ?? 'model');
  const context = useStudio((s) => s.settings?.context ?? 0);
  const [kind, setKind] = useState<GgufKind>('merged');
  const [dtype, setDtype] = useState<GgufDtype>('f16');
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<{ written: number; total: number } | null>(null);
  const [error, setError] = useState<ShownError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    setProgress(null);
    const safe = name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '');
    const suggested =
      kind === 'lora'
        ? `${safe}-longlora-${context}-lora.gguf`
        : `${safe}-longlora-${context}-${dtype}.gguf`;
    const r = await exportGguf({ kind, dtype }, suggested, (written, total) =>
      setProgress({ written, total }),
    );
    setBusy(false);
    if (!r.ok) setError(r.error);
    else if (r.value) setDone(`${r.value.name} · ${formatBytes(r.value.bytes)}`);
    else setProgress(null);
  };
  const frac = progress && progress.total > 0 ? progress.written / progress.total : 0;
  return (
    <div className="gguf-export">
      <h3>GGUF for llama.cpp</h3>
      <p className="muted">
        The merged model (base + LoRA, with the trained embeddings and norms) with the trained
        context and its RoPE scaling in llama.cpp&apos;s metadata, for llama.cpp, Ollama or LM
        Studio. A LoRA adapter GGUF loads on the base model&apos;s GGUF, but it can only carry the
        LoRA pairs: a run that trained embeddings or norms (LoRA+) needs the merged file.
      </p>
      <div className="button-row">
        <label>
          File{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as GgufKind)}>
            <option value="merged">merged model</option>
            <option value="lora">LoRA adapter</option>
          </select>
        </label>
        <label>
          Weights{' '}
          <select
            value={dtype}
            disabled={kind === 'lora'}
            onChange={(e) => setDtype(e.target.value as GgufDtype)}
          >
            <option value="f16">f16</option>
            <option value="bf16">bf16</option>
            <option value="f32">f32</option>
            <option value="q8_0">Q8_0 (8-bit, as llama-quantize makes it)</option>
            <option value="q6_k">Q6_K (6-bit, as llama-quantize makes it)</option>
            <option value="q4_k_m">Q4_K_M (4-bit mix, as llama-quantize makes it)</option>
          </select>
        </label>
        <button
          type="button"
          disabled={!ready || busy}
          aria-describedby={ready ? undefined : 'export-blocker'}
          aria-description={ready && busy ? 'Writing the GGUF: wait for it.' : undefined}
          onClick={() => void run()}
        >
          Export GGUF
        </button>
      </div>
      {progress && (
        <ProgressBar
          label="GGUF export"
          fraction={frac}
          caption={busy ? 'Writing GGUF' : 'Written'}
          amount={`${formatBytes(progress.written)} / ${formatBytes(progress.total)}`}
        />
      )}
      {done && <p role="status">Saved {done}</p>}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
    </div>
  );
}
