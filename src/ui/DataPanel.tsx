/**
 * Data: drop .txt / .json / .jsonl; shows format, documents, tokens and blocks at the target context.
 * Plain text is one document unless it holds separator lines or the user picks a separator here;
 * the document count and the first boundary show what the choice does. Instruction records show the
 * first one as the model reads it, the masked prompt greyed.
 */
import type { DataSeparator, DataSummary } from '../worker/protocol.ts';
import { useStudio } from '../store/index.ts';
import { DropZone } from './DropZone.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { formatCount } from './format.ts';
import { LoadProgressBar } from './LoadProgressBar.tsx';
import { EmptyState, Panel } from './Panel.tsx';

const FORMATS: Record<DataSummary['format'], string> = {
  text: 'Plain text',
  json: 'Alpaca JSON',
  jsonl: 'Alpaca JSONL',
  'text-json': 'JSON text records',
  'text-jsonl': 'JSONL text records',
  'token-ids': 'Token ids (JSON)',
};

const SEPARATORS: [DataSeparator, string][] = [
  ['none', 'None: the file is one document'],
  ['blank-line', 'Blank line'],
  ['line', 'Every line'],
  ['eos', 'Lines of only <|endoftext|> or EOS'],
];

/** Where plain text is cut into documents, the resulting count and the first boundary. */
function SeparatorField({ d, disabled }: { d: DataSummary; disabled: boolean }) {
  const setSeparator = useStudio((s) => s.setSeparator);
  return (
    <div className="field">
      <div className="field-row">
        <label htmlFor="data-separator">Document separator</label>
        <select
          id="data-separator"
          value={d.separator ?? 'none'}
          disabled={disabled}
          onChange={(e) => void setSeparator(e.target.value as DataSeparator)}
        >
          {SEPARATORS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
              {value === d.detectedSeparator ? ' (detected)' : ''}
            </option>
          ))}
        </select>
      </div>
      <span className="field-note">
        Documents are joined with EOS; without separators the whole file is one document.
      </span>
      {d.boundary ? (
        <figure className="boundary" aria-label="First document boundary">
          <pre className="samples">
            {`…${d.boundary.before}`}
            <mark>{' ⟨EOS⟩ '}</mark>
            {`${d.boundary.after}…`}
          </pre>
        </figure>
      ) : (
        <p className="field-note" aria-label="First document boundary">
          One document: no boundary inside the file.
        </p>
      )}
    </div>
  );
}

/** The first instruction record as rendered: the prompt greyed (not in the loss), then the answer. */
function RenderedExample({ ex }: { ex: NonNullable<DataSummary['example']> }) {
  const how =
    ex.format === 'chat-template'
      ? "in the model's chat template"
      : 'as [INST]…[/INST] (the model has no chat template)';
  return (
    <figure className="rendered-example" aria-label="Rendered example">
      <figcaption>
        First record {how}. Greyed: the prompt, not in the loss ({formatCount(ex.promptTokens)}{' '}
        tokens); the rest is learned ({formatCount(ex.answerTokens)} tokens).
      </figcaption>
      <pre className="samples">
        <span className="masked" title="not in the loss" aria-label="Prompt, not in the loss">
          {ex.prompt}
        </span>
        <span aria-label="Answer, in the loss">{ex.answer}</span>
      </pre>
    </figure>
  );
}

/** The Data panel. */
export function DataPanel() {
  const { summary: d, loading, progress, error } = useStudio((s) => s.data);
  const hasModel = useStudio((s) => !!s.model.summary);
  const loadData = useStudio((s) => s.loadData);
  return (
    <Panel
      id="data"
      title="Data"
      hint="Plain text, {text} records (JSONL), token ids, or LongAlpaca-style JSON / JSONL."
    >
      {!hasModel && (
        <EmptyState>Load a model first: the data is tokenized with its tokenizer.</EmptyState>
      )}
      {hasModel && (
        <DropZone
          label="Training data"
          accept=".txt,.json,.jsonl,text/plain,application/json"
          multiple={false}
          disabledReason={loading ? 'Training data is loading: wait for it.' : undefined}
          onFiles={(files) => files[0] && void loadData(files[0])}
        >
          <p>Drop a .txt, .json or .jsonl file.</p>
        </DropZone>
      )}
      {loading && progress && <LoadProgressBar progress={progress} label="Tokenization progress" />}
      {error && <ErrorNote error={error} />}
      {d && (
        <>
          <dl className="facts" aria-label="Data summary">
            <dt>File</dt>
            <dd>{d.name}</dd>
            <dt>Format</dt>
            <dd>{FORMATS[d.format]}</dd>
            <dt>{d.format === 'text' || d.format === 'token-ids' ? 'Documents' : 'Records'}</dt>
            <dd>{d.documents.toLocaleString('en-US')}</dd>
            <dt>Tokens</dt>
            <dd>
              {formatCount(d.tokens)}
              {d.maskedTokens > 0 ? ` (${formatCount(d.maskedTokens)} prompt tokens masked)` : ''}
            </dd>
            <dt>Blocks</dt>
            <dd>
              {d.blocks.toLocaleString('en-US')} × {d.context.toLocaleString('en-US')} tokens
            </dd>
          </dl>
          {d.format === 'text' && <SeparatorField d={d} disabled={loading} />}
          {d.example && <RenderedExample ex={d.example} />}
          {!d.example && d.samples.length > 0 && (
            <pre className="samples" aria-label="Sample lines">
              {d.samples.join('\n')}
            </pre>
          )}
        </>
      )}
    </Panel>
  );
}
