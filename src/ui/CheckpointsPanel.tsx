/** Checkpoints stored in this browser (IndexedDB): resume, delete, storage used, persistence. */
import { useEffect } from 'react';
import { useStudio } from '../store/index.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatBytes } from './format.ts';
import { Panel } from './Panel.tsx';

/** The Checkpoints panel. */
export function CheckpointsPanel() {
  const c = useStudio((s) => s.checkpoints);
  const busy = useStudio((s) => ['starting', 'running', 'paused'].includes(s.run.state));
  const run = useStudio((s) => s.run);
  const { refreshCheckpoints, deleteCheckpoint, requestPersist, resumeFrom } = useStudio.getState();
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
  const resumeWhy = (runId: string): string | undefined =>
    busy
      ? 'A run is going in this tab: stop it first.'
      : elsewhere.includes(runId)
        ? 'This run is open in another tab of the studio: continue it there, or close that tab.'
        : undefined;
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
      {offer && !latestElsewhere && (
        <div className="callout">
          A run of <strong>{latest.modelName}</strong> stopped at step {latest.step}.{' '}
          <button type="button" className="small" onClick={() => void resumeFrom(latest.id)}>
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
                onClick={() => void resumeFrom(k.id)}
                aria-label={`Resume from step ${k.step}`}
              >
                Resume
              </button>
              <button
                type="button"
                className="small danger"
                disabled={busy}
                onClick={() => void deleteCheckpoint(k.id)}
                aria-label={`Delete checkpoint at step ${k.step}`}
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
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
          <button type="button" className="small" onClick={() => void requestPersist()}>
            Persist storage
          </button>
        )}
      </div>
      {c.error && <ErrorNote error={c.error} />}
    </Panel>
  );
}
