/** Export: the PEFT adapter (.zip) and, optionally, the merged model. */
import { useState } from 'react';
import { downloadAdapter } from '../store/actions.ts';
import type { ShownError } from '../store/errors.ts';
import { useStudio } from '../store/index.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes } from './format.ts';
import { Panel } from './Panel.tsx';

/** The Export panel. */
export function ExportPanel() {
  const ready = useStudio((s) => !!s.model.summary);
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
          onClick={() => void run()}
        >
          Export adapter
        </button>
        <label className="check">
          <input type="checkbox" checked={merged} onChange={(e) => setMerged(e.target.checked)} />
          Include the merged model
        </label>
      </div>
      {!ready && (
        <p className="muted">Load a model and train (or resume) a run to export its adapter.</p>
      )}
      {done && <p role="status">Saved {done}</p>}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
    </Panel>
  );
}
