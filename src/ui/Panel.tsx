/** A titled section of the studio page. */
import type { ReactNode } from 'react';

interface PanelProps {
  id: string;
  title: string;
  /** One line under the title saying what the panel is for. */
  hint?: string;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}

/** A card with a heading that names the region for assistive technology. */
export function Panel({ id, title, hint, actions, children, className }: PanelProps) {
  return (
    <section id={id} className={`panel ${className ?? ''}`} aria-labelledby={`${id}-title`}>
      <header className="panel-head">
        <div>
          <h2 id={`${id}-title`}>{title}</h2>
          {hint && <p className="panel-hint">{hint}</p>}
        </div>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

/** What a panel shows before it has anything to show. */
export function EmptyState({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** Brings a panel into view (the Run panel once a run is resumed from lower on the page). */
export function showPanel(id: string): void {
  document.getElementById(id)?.scrollIntoView({ block: 'start', behavior: 'instant' });
}
