/** Validation problems from the compile route; a click selects and scrolls to the cell. */
import * as React from 'react';

import { Problem } from './types';

export function ProblemsList(props: { problems: Problem[]; onSelectCell: (index: number) => void }): JSX.Element {
  if (!props.problems.length) {
    return (
      <div className="jp-kf-empty" data-testid="kf-problems-none">
        No problems.
      </div>
    );
  }
  return (
    <ul className="jp-kf-problems" aria-label="Pipeline problems">
      {props.problems.map((p, i) => {
        const where = [
          p.cell !== null && p.cell !== undefined ? `cell ${p.cell + 1}` : null,
          p.line ? `line ${p.line}` : null,
          p.step ? `step ${p.step}` : null
        ]
          .filter(Boolean)
          .join(', ');
        const hasCell = p.cell !== null && p.cell !== undefined;
        return (
          <li key={i} className={`jp-kf-problem jp-kf-problem-${p.severity}`} data-testid="kf-problem" data-code={p.code} data-cell={hasCell ? p.cell! : ''}>
            <button
              className="jp-kf-problem-button"
              disabled={!hasCell}
              aria-label={`${p.severity}: ${p.message}${where ? ` (${where})` : ''}`}
              onClick={() => hasCell && props.onSelectCell(p.cell!)}
            >
              <span className="jp-kf-problem-severity">{p.severity === 'error' ? '✖' : '⚠'}</span>
              <span className="jp-kf-problem-message">{p.message}</span>
              {where && <span className="jp-kf-problem-where">{where}</span>}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
