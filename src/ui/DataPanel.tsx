/** Data: drop .txt / .json / .jsonl; shows format, documents, tokens and blocks at the target context. */
import { useStudio } from '../store/index.ts';
import { DropZone } from './DropZone.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { formatCount } from './format.ts';
import { LoadProgressBar } from './LoadProgressBar.tsx';
import { EmptyState, Panel } from './Panel.tsx';

const FORMATS = { text: 'Plain text', json: 'Alpaca JSON', jsonl: 'Alpaca JSONL' };

/** The Data panel. */
export function DataPanel() {
  const { summary: d, loading, progress, error } = useStudio((s) => s.data);
  const hasModel = useStudio((s) => !!s.model.summary);
  const loadData = useStudio((s) => s.loadData);
  return (
    <Panel id="data" title="Data" hint="Plain text, or LongAlpaca-style JSON / JSONL.">
      {!hasModel && (
        <EmptyState>Load a model first: the data is tokenized with its tokenizer.</EmptyState>
      )}
      {hasModel && (
        <DropZone
          label="Training data"
          accept=".txt,.json,.jsonl,text/plain,application/json"
          multiple={false}
          disabled={loading}
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
            <dt>{d.format === 'text' ? 'Documents' : 'Records'}</dt>
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
          {d.samples.length > 0 && (
            <pre className="samples" aria-label="Sample lines">
              {d.samples.join('\n')}
            </pre>
          )}
        </>
      )}
    </Panel>
  );
}
