/** Small shared React pieces of the panel. */
import * as React from 'react';

/** A titled, collapsible section of the panel. */
export function Section(props: {
  title: string;
  testid: string;
  children: React.ReactNode;
  extra?: React.ReactNode;
  defaultOpen?: boolean;
}): JSX.Element {
  const [open, setOpen] = React.useState(props.defaultOpen ?? true);
  const id = `jp-kf-section-${props.testid}`;
  return (
    <section className="jp-kf-section" data-testid={props.testid}>
      <div className="jp-kf-section-header">
        <button
          className="jp-kf-section-toggle"
          aria-expanded={open}
          aria-controls={id}
          onClick={() => setOpen(!open)}
        >
          <span className="jp-kf-caret" aria-hidden="true">
            {open ? '▾' : '▸'}
          </span>
          {props.title}
        </button>
        {props.extra}
      </div>
      {open && (
        <div className="jp-kf-section-body" id={id}>
          {props.children}
        </div>
      )}
    </section>
  );
}

/**
 * A text input that commits on Enter or blur (Escape reverts). `onCommit` returns an error
 * message to refuse the value (it stays in the box, flagged), or null once written.
 */
export function CommitInput(props: {
  value: string;
  label: string;
  testid: string;
  placeholder?: string;
  onCommit: (value: string) => string | null;
}): JSX.Element {
  const [draft, setDraft] = React.useState(props.value);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    setDraft(props.value);
    setError(null);
  }, [props.value]);
  const commit = () => {
    if (draft === props.value) {
      setError(null);
      return;
    }
    setError(props.onCommit(draft));
  };
  return (
    <span className="jp-kf-input-wrap">
      <input
        className={`jp-mod-styled jp-kf-input${error ? ' jp-kf-invalid' : ''}`}
        type="text"
        value={draft}
        placeholder={props.placeholder}
        aria-label={props.label}
        aria-invalid={error ? true : undefined}
        data-testid={props.testid}
        onChange={e => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            e.preventDefault();
            commit();
          } else if (e.key === 'Escape') {
            setDraft(props.value);
            setError(null);
          }
        }}
      />
      {error && (
        <span className="jp-kf-error-text" role="alert" data-testid={`${props.testid}-error`}>
          {error}
        </span>
      )}
    </span>
  );
}

/** A coloured status label (run or step status). */
export function StatusBadge(props: { status: string; testid?: string }): JSX.Element {
  return (
    <span
      className={`jp-kf-status jp-kf-status-${props.status}`}
      data-testid={props.testid ?? 'kf-status'}
      data-status={props.status}
    >
      {props.status}
    </span>
  );
}

/** A compact rendering of metric values. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
