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

/** A labelled progress bar with a caption on the left and the amount done on the right. */
export function ProgressBar({
  label,
  fraction,
  caption,
  amount,
}: {
  label: string;
  fraction: number;
  caption: string;
  amount: string;
}) {
  return (
    <div>
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(fraction * 100)}
      >
        <div style={{ width: `${fraction * 100}%` }} />
      </div>
      <div className="progress-line">
        <span>{caption}</span>
        <span>{amount}</span>
      </div>
    </div>
  );
}

/** A labelled progress bar for model/data loading. */
export function LoadProgressBar({ progress, label }: { progress: LoadProgress; label: string }) {
  const frac = progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 0;
  const bytes = progress.phase === 'tokenizing';
  const amount =
    (bytes
      ? `${progress.bytesDone.toLocaleString('en-US')} / ${progress.bytesTotal.toLocaleString('en-US')}`
      : `${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}`) +
    (progress.shardsTotal > 1 ? ` · file ${progress.shardsDone} of ${progress.shardsTotal}` : '');
  return (
    <ProgressBar
      label={label}
      fraction={frac}
      caption={`${PHASES[progress.phase]}${progress.file ? ` ${progress.file}` : ''}`}
      amount={amount}
    />
  );
}
