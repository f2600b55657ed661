/** Checkpoints stored in this browser (IndexedDB): resume, delete, storage used, persistence. */
import { useEffect, useState } from 'react';
import { downloadCheckpoint } from '../store/actions.ts';
import type { ShownError } from '../store/errors.ts';
import { useStudio } from '../store/index.ts';
import { DEMO_MODEL_NAME } from '../util/demo.ts';
import type { CheckpointInfo } from '../worker/protocol.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes } from './format.ts';
import { Panel, showPanel } from './Panel.tsx';
import { NUMBER_RULES, numberProblem } from '../util/setting-rules.ts';

/** The Checkpoints panel. */
export function CheckpointsPanel() {
  const c = useStudio((s) => s.checkpoints);
  const busy = useStudio((s) => ['starting', 'running', 'paused'].includes(s.run.state));
  const run = useStudio((s) => s.run);
  const modelName = useStudio((s) => s.model.summary?.name ?? null);
  const modelLoading = useStudio((s) => s.model.loading);
  const { refreshCheckpoints, deleteCheckpoint, requestPersist, resumeFrom, loadModel } =
    useStudio.getState();
  const [exporting, setExporting] = useState<number | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [exportError, setExportError] = useState<ShownError | null>(null);
  useEffect(() => {
    void refreshCheckpoints();
  }, [refreshCheckpoints]);
  // While another tab trains a run, look again every few seconds (it may end or close).
  const elsewhere = c.busyElsewhere;
  useEffect(() => {
    if (elsewhere.length === 0) return;
    const t = setInterval(() => void refreshCheckpoints(), 3000);
    return () => clearInterval(t);
  }, [elsewhere.length, refreshCheckpoints]);
  const latest = c.list[0];
  // Offer the latest run unless it is the one on screen (a failed one is offered again).
  const offer = latest && !busy && (latest.runId !== run.runId || run.state === 'failed');
  const latestElsewhere = !!latest && elsewhere.includes(latest.runId);
  // A run whose latest checkpoint is at its last step finished: nothing is left to resume.
  const finished = !!latest && latest.totalSteps !== null && latest.step >= latest.totalSteps;
  /** Continues (or opens) a run and shows the Run panel, where its progress appears. */
  const continueRun = (id: string, steps?: number) => {
    showPanel('run');
    void resumeFrom(id, steps);
  };
  const resumeWhy = (runId: string): string | undefined =>
    busy
      ? 'A run is going in this tab: stop it first.'
      : elsewhere.includes(runId)
        ? 'This run is open in another tab of the studio: continue it there, or close that tab.'
        : undefined;
  const deleteWhy = (runId: string): string | undefined =>
    busy
      ? 'A run is going in this tab: stop it first.'
      : elsewhere.includes(runId)
        ? 'This run is open in another tab of the studio: delete its checkpoints there, or close that tab.'
        : undefined;
  // Export reads a committed checkpoint from storage: it needs the base model it was trained on
  // (the demo loads by itself), never the run's lock, so a second tab may export too.
  const exportWhy = (k: CheckpointInfo): string | undefined =>
    exporting !== null
      ? `Exporting the checkpoint at step ${exporting}: wait for it.`
      : modelLoading
        ? 'A model is loading: wait for it.'
        : busy && modelName !== k.modelName
          ? `A run of another model is going in this tab: stop it to export a checkpoint of ${k.modelName}.`
          : modelName !== k.modelName && k.modelName !== DEMO_MODEL_NAME
            ? `Load the model this checkpoint was trained on (${k.modelName}) to export it.`
            : undefined;
  const exportOne = async (k: CheckpointInfo) => {
    setExporting(k.step);
    setExportError(null);
    setExported(null);
    if (modelName !== k.modelName) await loadModel('demo');
    const r = await downloadCheckpoint(k.id);
    setExporting(null);
    if (r.ok) setExported(`${r.value.name} · ${formatBytes(r.value.bytes.byteLength)}`);
    else setExportError(r.error);
  };
  return (
    <Panel
      id="checkpoints"
      title="Checkpoints"
      hint="Saved in this browser; training resumes from any of them."
    >
      {offer && latestElsewhere && (
        <div className="callout" role="status" aria-label="Run busy elsewhere">
          A run of <strong>{latest.modelName}</strong> is open in another tab of the studio (saved
          at step {latest.step}). Its checkpoints are listed here; continue it there, or close that
          tab.{' '}
          <button
            type="button"
            className="small"
            disabled
            aria-description={resumeWhy(latest.runId)}
          >
            Resume latest run
          </button>
        </div>
      )}
      {offer && !latestElsewhere && finished && (
        <FinishedRun
          latest={latest}
          open={() => continueRun(latest.id)}
          further={(steps) => continueRun(latest.id, steps)}
          exportIt={() => void exportOne(latest)}
          exportWhy={exportWhy(latest)}
        />
      )}
      {offer && !latestElsewhere && !finished && (
        <div className="callout" role="group" aria-label="Latest run">
          A run of <strong>{latest.modelName}</strong> stopped at step {latest.step}
          {latest.totalSteps !== null ? ` of ${latest.totalSteps}` : ''}.{' '}
          <button type="button" className="small" onClick={() => continueRun(latest.id)}>
            Resume latest run
          </button>
        </div>
      )}
      <ul className="ckpt-list" aria-label="Checkpoints">
        {c.list.map((k) => (
          <li key={k.id}>
            <div>
              <div>
                {k.modelName} · step {k.step}
              </div>
              <div className="ckpt-meta">
                {new Date(k.createdAt).toLocaleString()} · {formatBytes(k.bytes)}
              </div>
            </div>
            <div className="button-row">
              <button
                type="button"
                className="small"
                disabled={resumeWhy(k.runId) !== undefined}
                aria-description={resumeWhy(k.runId)}
                onClick={() => continueRun(k.id)}
                aria-label={`Resume from step ${k.step}`}
              >
                Resume
              </button>
              <button
                type="button"
                className="small"
                disabled={exportWhy(k) !== undefined}
                aria-description={exportWhy(k)}
                onClick={() => void exportOne(k)}
                aria-label={`Export checkpoint at step ${k.step}`}
              >
                Export
              </button>
              <button
                type="button"
                className="small danger"
                disabled={deleteWhy(k.runId) !== undefined}
                aria-description={deleteWhy(k.runId)}
                onClick={() => void deleteCheckpoint(k.id)}
                aria-label={`Delete checkpoint at step ${k.step}`}
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {exported && <p role="status">Saved {exported}</p>}
      {exportError && <ErrorNote error={exportError} onDismiss={() => setExportError(null)} />}
      {c.loaded && c.list.length === 0 && (
        <p className="muted">No checkpoints yet. A running job saves them as it goes.</p>
      )}
      <div className="progress-line">
        <span>
          Storage: {c.usage !== null ? formatBytes(c.usage) : '—'} used of{' '}
          {c.quota !== null ? formatBytes(c.quota) : '—'}
        </span>
        {c.persisted ? (
          <span>Persistent storage granted</span>
        ) : (
          <span>
            {c.persistRefused && (
              <span role="status">The browser did not grant persistent storage. </span>
            )}
            <button type="button" className="small" onClick={() => void requestPersist()}>
              Persist storage
            </button>
          </span>
        )}
      </div>
      {c.error && <ErrorNote error={c.error} />}
    </Panel>
  );
}

/**
 * The latest run finished all its steps: open it (to evaluate, generate or export it), export its
 * adapter, or train it further to a new total of steps.
 */
function FinishedRun({
  latest,
  open,
  further,
  exportIt,
  exportWhy,
}: {
  latest: CheckpointInfo;
  open(): void;
  further(steps: number): void;
  exportIt(): void;
  exportWhy: string | undefined;
}) {
  const [steps, setSteps] = useState(2 * (latest.totalSteps ?? latest.step));
  const problem =
    numberProblem(
      NUMBER_RULES.steps,
      steps,
      'The new total',
      Number.isNaN(steps) ? '' : String(steps),
    ) ??
    (steps <= latest.step
      ? `The new total must be more than the ${latest.step} steps already trained.`
      : null);
  return (
    <div className="callout" role="group" aria-label="Latest run">
      <p>
        A run of <strong>{latest.modelName}</strong> finished all {latest.totalSteps} steps.
      </p>
      <div className="button-row">
        <button
          type="button"
          className="small"
          onClick={open}
          aria-description="Loads the trained adapter, so Evaluate, Generate and Export use it."
        >
          Open finished run
        </button>
        <button
          type="button"
          className="small"
          disabled={exportWhy !== undefined}
          aria-description={exportWhy}
          onClick={exportIt}
          aria-label={`Export checkpoint at step ${latest.step}`}
        >
          Export adapter
        </button>
        <label htmlFor="further-steps">Train further to</label>
        <input
          id="further-steps"
          type="number"
          min={latest.step + 1}
          value={Number.isNaN(steps) ? '' : steps}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'further-error' : undefined}
          onChange={(e) => setSteps(e.target.value === '' ? NaN : Number(e.target.value))}
          style={{ width: 90 }}
        />
        <span>steps</span>
        <button
          type="button"
          className="small"
          disabled={problem !== null}
          aria-description={problem ?? undefined}
          onClick={() => further(steps)}
        >
          Train further
        </button>
      </div>
      {problem && (
        <span className="field-error" id="further-error" role="alert">
          {problem}
        </span>
      )}
    </div>
  );
}
