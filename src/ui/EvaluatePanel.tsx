/** Evaluate: perplexity at the target context, passkey retrieval at a chosen length, and generation. */
import { useState } from 'react';
import { evaluatePerplexity, generateText, runPasskey } from '../store/actions.ts';
import type { ShownError } from '../store/errors.ts';
import { useStudio } from '../store/index.ts';
import { NUMBER_RULES, numberProblem } from '../util/setting-rules.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { Panel } from './Panel.tsx';

/** The Evaluate panel. */
export function EvaluatePanel() {
  const context = useStudio((s) => s.settings?.context ?? 0);
  const ready = useStudio((s) => !!s.model.summary);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ShownError | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [length, setLength] = useState(2048);
  const [prompt, setPrompt] = useState('Once upon a time');
  const [output, setOutput] = useState('');
  /** The prompt the shown text continues (as it was when Generate was pressed). */
  const [continued, setContinued] = useState('');
  const lengthProblem = numberProblem(
    NUMBER_RULES.passkeyLength,
    length,
    'Passkey length',
    Number.isNaN(length) ? '' : String(length),
  );
  const BUSY: Record<string, string> = {
    ppl: 'Measuring perplexity',
    passkey: 'Running the passkey test',
    gen: 'Generating',
  };
  // Why the buttons are disabled (their accessible description).
  const why = !ready
    ? 'Load a model first.'
    : busy
      ? `${BUSY[busy] ?? 'Working'}: wait for it to finish.`
      : undefined;
  const go = async (
    what: string,
    fn: () => Promise<{ ok: boolean; error?: ShownError; text?: string }>,
  ) => {
    setBusy(what);
    setError(null);
    const r = await fn();
    setBusy(null);
    if (!r.ok && r.error) setError(r.error);
    else if (r.text) setResult(r.text);
  };
  return (
    <Panel id="evaluate" title="Evaluate" hint="Full attention, as the model will be used.">
      <div className="button-row">
        <button
          type="button"
          disabled={why !== undefined}
          aria-description={why}
          onClick={() =>
            void go('ppl', async () => {
              const r = await evaluatePerplexity(context);
              return r.ok
                ? {
                    ok: true,
                    text: `Perplexity ${r.value.perplexity.toFixed(2)} over ${r.value.windows} windows of ${r.value.context}`,
                  }
                : r;
            })
          }
        >
          Measure perplexity
        </button>
        <label className="check" htmlFor="pk-len">
          Passkey at
        </label>
        <input
          id="pk-len"
          type="number"
          aria-label="Passkey length"
          min={64}
          step={64}
          value={length}
          aria-invalid={lengthProblem ? true : undefined}
          aria-describedby={lengthProblem ? 'pk-len-error' : undefined}
          onChange={(e) => setLength(e.target.value === '' ? NaN : Number(e.target.value))}
          style={{ width: 90 }}
        />
        <button
          type="button"
          disabled={why !== undefined || lengthProblem !== null}
          aria-description={why ?? lengthProblem ?? undefined}
          onClick={() =>
            void go('passkey', async () => {
              const r = await runPasskey(length, Date.now() & 0xffff);
              return r.ok
                ? {
                    ok: true,
                    text: `Passkey ${r.value.passkey}: answered “${r.value.answer}” — ${r.value.correct ? 'correct' : 'wrong'}`,
                  }
                : r;
            })
          }
        >
          Run passkey test
        </button>
      </div>
      {lengthProblem && (
        <span className="field-error" id="pk-len-error" role="alert">
          {lengthProblem}
        </span>
      )}
      {result && <p role="status">{result}</p>}
      <div className="field">
        <label htmlFor="prompt">Prompt</label>
        <textarea id="prompt" rows={2} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </div>
      <div className="button-row">
        <button
          type="button"
          disabled={why !== undefined}
          aria-description={why}
          onClick={() => {
            setOutput('');
            setContinued(prompt);
            void go('gen', () => generateText(prompt, 200, (t) => setOutput((o) => o + t)));
          }}
        >
          Generate
        </button>
      </div>
      {output && (
        <div className="output" aria-label="Generated text">
          <span className="prompt-echo" title="Your prompt">
            {continued}
          </span>
          <span className="continuation">{output}</span>
        </div>
      )}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
    </Panel>
  );
}
