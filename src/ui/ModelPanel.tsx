/** Model: drop an HF folder, safetensors shards or a GGUF; shows what the studio understood. */
import { useStudio } from '../store/index.ts';
import { DropZone } from './DropZone.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes, formatCount } from './format.ts';
import { LoadProgressBar } from './LoadProgressBar.tsx';
import { Panel } from './Panel.tsx';

/** The Model panel. */
export function ModelPanel() {
  const { summary: m, loading, progress, error } = useStudio((s) => s.model);
  const loadModel = useStudio((s) => s.loadModel);
  const running = useStudio((s) => ['starting', 'running', 'paused'].includes(s.run.state));
  const why = loading
    ? 'A model is loading: wait for it.'
    : running
      ? 'A run is going: stop it before loading another model.'
      : undefined;
  return (
    <Panel
      id="model"
      title="Model"
      hint="A Hugging Face folder, its safetensors shards, or one GGUF file."
      actions={
        <button
          type="button"
          disabled={!!why}
          aria-description={why}
          onClick={() => void loadModel('demo')}
        >
          Use demo model
        </button>
      }
    >
      <DropZone
        label="Model files"
        accept=".json,.safetensors,.gguf,.model"
        multiple
        disabledReason={why}
        onFiles={(files) => void loadModel(files)}
      >
        <p>Drop a model folder or files here. They are read locally, never uploaded.</p>
      </DropZone>
      {loading && progress && <LoadProgressBar progress={progress} label="Model load progress" />}
      {loading && !progress && <p className="muted">Opening…</p>}
      {error && <ErrorNote error={error} />}
      {m && (
        <>
          <dl className="facts" aria-label="Model summary">
            <dt>Name</dt>
            <dd>
              {m.name} <span className="tag">{m.format}</span>
            </dd>
            <dt>Architecture</dt>
            <dd>{m.architecture}</dd>
            <dt>Parameters</dt>
            <dd>
              {formatCount(m.parameters)} · {formatBytes(m.weightBytes)}
            </dd>
            <dt>Weights</dt>
            <dd>
              {Object.entries(m.dtypes)
                .map(([d, n]) => `${d} ×${n}`)
                .join(', ')}
            </dd>
            <dt>Stored as</dt>
            <dd aria-label="Stored types">
              {m.storedTypes.map((s) => `${s.type} ${formatBytes(s.bytes)}`).join(' · ')}
              {m.quantized ? ' (kept in these blocks on the GPU)' : ''}
            </dd>
            <dt>Context</dt>
            <dd>{m.contextLength.toLocaleString('en-US')} tokens</dd>
            <dt>Vocabulary</dt>
            <dd>{m.vocabSize.toLocaleString('en-US')}</dd>
            <dt>Shape</dt>
            <dd>
              {m.layers} layers · hidden {m.hiddenSize} · {m.heads} heads ({m.kvHeads} kv) · FFN{' '}
              {m.intermediateSize}
              {m.tiedEmbeddings ? ' · tied embeddings' : ''}
            </dd>
            <dt>Files</dt>
            <dd>{m.files.join(', ')}</dd>
          </dl>
          {m.missingFiles.length > 0 && (
            <ul className="note-list warn" aria-label="Missing files">
              {m.missingFiles.map((f) => (
                <li key={f}>Missing: {f}</li>
              ))}
            </ul>
          )}
          {m.unexpectedFiles.length > 0 && (
            <ul className="note-list" aria-label="Unexpected files">
              {m.unexpectedFiles.map((f) => (
                <li key={f}>Not used: {f}</li>
              ))}
            </ul>
          )}
          {m.notes.length > 0 && (
            <ul className="note-list">
              {m.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </Panel>
  );
}
