/** Start / Pause / Resume / Stop, the progress bar, and the run's live numbers. */
import { useStudio } from '../store/index.ts';
import { firstNumberProblem } from '../util/setting-rules.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { formatCount, formatDuration } from './format.ts';
import { LoadProgressBar, ProgressBar } from './LoadProgressBar.tsx';
import { Panel } from './Panel.tsx';

/** The run controls and progress. */
export function RunPanel() {
  const run = useStudio((s) => s.run);
  const plan = useStudio((s) => s.plan);
  const hasData = useStudio((s) => !!s.data.summary);
  const hasModel = useStudio((s) => !!s.model.summary);
  const planError = useStudio((s) => s.planError);
  const last = useStudio((s) => s.metrics.last);
  const total = useStudio((s) => s.metrics.totalSteps || s.settings?.steps || 0);
  const { startTraining, pause, resume, stop, dismissRunError } = useStudio.getState();
  const settingsProblem = useStudio((s) => (s.settings ? firstNumberProblem(s.settings) : null));
  const active = run.state === 'running' || run.state === 'paused' || run.state === 'starting';
  const why = !hasModel
    ? 'Load a model and data to start.'
    : !hasData
      ? 'Load training data to start.'
      : settingsProblem
        ? `Fix the flagged setting to start: ${settingsProblem}`
        : plan && !plan.fits
          ? 'Change the flagged settings to start.'
          : null;
  // Why Start is disabled (its accessible description); the panel's hint says it too.
  const startWhy =
    why ??
    (plan ? undefined : planError ? `The memory plan failed: ${planError.message}` : 'Planning…');
  const step = last?.step ?? 0;
  // A time left only while the run goes on (not once it is paused, stopped, done or failed).
  const eta = last && (run.state === 'running' || run.state === 'starting') ? last.etaMs : NaN;
  return (
    <Panel
      id="run"
      title="Run"
      hint={why ?? stateText(run.state, step, total)}
      actions={
        <div className="button-row">
          {!active && (
            <button
              type="button"
              className="primary"
              disabled={startWhy !== undefined}
              aria-description={startWhy}
              onClick={() => void startTraining()}
            >
              Start training
            </button>
          )}
          {run.state === 'running' && (
            <button type="button" onClick={() => void pause()}>
              Pause
            </button>
          )}
          {run.state === 'paused' && (
            <button type="button" onClick={() => void resume()}>
              Resume
            </button>
          )}
          {active && (
            <button type="button" className="danger" onClick={() => void stop()}>
              Stop
            </button>
          )}
        </div>
      }
    >
      <div
        className="progress"
        role="progressbar"
        aria-label="Training progress"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={step}
        aria-valuetext={`step ${step} of ${total}`}
      >
        <div style={{ width: `${total ? (step / total) * 100 : 0}%` }} />
      </div>
      {run.upload && <LoadProgressBar progress={run.upload} label="Weights upload" />}
      {run.tuning && (
        <ProgressBar
          label="Kernel tuning"
          fraction={run.tuning.total ? run.tuning.done / run.tuning.total : 0}
          caption="Tuning kernels for this GPU (first run at these shapes only)"
          amount={`${run.tuning.done} / ${run.tuning.total} shapes`}
        />
      )}
      <div className="stats">
        <Stat k="Step" v={`${step} / ${total}`} />
        <Stat k="Loss (smoothed)" v={last ? last.smoothedLoss.toFixed(3) : '—'} />
        <Stat k="Tokens / s" v={last ? formatCount(Math.round(last.tokensPerSecond)) : '—'} />
        <Stat k="Elapsed" v={last ? formatDuration(last.elapsedMs) : '—'} />
        <Stat k="ETA" v={formatDuration(eta)} />
      </div>
      {run.error && <ErrorNote error={run.error} onDismiss={dismissRunError} />}
    </Panel>
  );
}

function Stat({ k, v }: { k: string; v: string }) {
  return (
    <div className="stat">
      <div className="k">{k}</div>
      <div className="v">{v}</div>
    </div>
  );
}

/** What the run is doing, in a sentence: a run that reached its last step is done, not stopped. */
function stateText(s: string, step: number, total: number): string {
  if (s === 'stopped' && total > 0 && step >= total) s = 'done';
  return (
    {
      idle: 'Ready to start.',
      starting: 'Uploading weights and compiling kernels…',
      running: 'Training.',
      paused: 'Paused. A checkpoint was kept.',
      stopped: `Stopped at step ${step} of ${total}. A checkpoint was kept: resume it from Checkpoints.`,
      done: `Finished all ${total} steps. Export the adapter, evaluate it, or train further from Checkpoints.`,
      failed: 'The run stopped with an error.',
    }[s] ?? ''
  );
}
