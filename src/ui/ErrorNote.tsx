/** An error shown in place: what happened and what to do. */
import type { ShownError } from '../store/errors.ts';

/** Renders a described error as an alert beside the control that caused it. */
export function ErrorNote({ error, onDismiss }: { error: ShownError; onDismiss?: () => void }) {
  return (
    <div className="error-note" role="alert" data-error-kind={error.kind}>
      <div>
        <strong>{error.title}</strong>
        <p>{error.message}</p>
        <p className="error-action">{error.action}</p>
      </div>
      {onDismiss && (
        <button type="button" className="ghost small" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}
