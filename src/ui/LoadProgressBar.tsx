/** Bytes and shards of a load in progress. */
import type { LoadProgress } from '../worker/protocol.ts';
import { formatBytes } from './format.ts';

const PHASES: Record<LoadProgress['phase'], string> = {
  reading: 'Reading',
  parsing: 'Parsing',
  uploading: 'Uploading to GPU',
  tokenizing: 'Tokenizing',
  done: 'Done',
};

/** A labelled progress bar for model/data loading. */
export function LoadProgressBar({ progress, label }: { progress: LoadProgress; label: string }) {
  const frac = progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 0;
  const bytes = progress.phase === 'tokenizing';
  return (
    <div>
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(frac * 100)}
      >
        <div style={{ width: `${frac * 100}%` }} />
      </div>
      <div className="progress-line">
        <span>
          {PHASES[progress.phase]}
          {progress.file ? ` ${progress.file}` : ''}
        </span>
        <span>
          {bytes
            ? `${progress.bytesDone.toLocaleString('en-US')} / ${progress.bytesTotal.toLocaleString('en-US')}`
            : `${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}`}
          {progress.shardsTotal > 1
            ? ` · file ${progress.shardsDone} of ${progress.shardsTotal}`
            : ''}
        </span>
      </div>
    </div>
  );
}
