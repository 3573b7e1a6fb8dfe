/**
 * The notebook's runs: status, duration, metrics, backend; the selected run's steps with their
 * status, log and executed notebook (one click), cancel and retry.
 */
import * as React from 'react';

import { formatValue, StatusBadge } from './components';
import { formatDuration, isFinished, Run, runDuration, StepLog, StepRun } from './types';

export interface RunsProps {
  runs: Run[];
  selected: Run | null;
  error: string | null;
  log: StepLog | null;
  logError: string | null;
  /** `run/step` whose log was asked for (where a log error shows). */
  logFor: string | null;
  onSelect: (id: string) => void;
  onCancel: (id: string) => void;
  onRetry: (id: string) => void;
  onLog: (id: string, step: string) => void;
  onCloseLog: () => void;
  onOpenNotebook: (id: string, step: string) => void;
  onSelectCell: (index: number) => void;
  onRefresh: () => void;
}

function metricsText(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(', ');
}

/** A run's metrics in a stable order: by step in pipeline order (not by which finished first). */
function runMetrics(run: Run): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const step of run.steps) {
    for (const k of Object.keys(step.metrics ?? {})) {
      if (k in (run.metrics ?? {})) {
        out[k] = run.metrics[k];
      }
    }
  }
  return { ...out, ...run.metrics, ...out };
}

export function RunsList(props: RunsProps): JSX.Element {
  const { runs, selected } = props;
  return (
    <div className="jp-kf-runs" data-testid="kf-runs">
      {props.error && <div className="jp-kf-error-text">Runs: {props.error}</div>}
      {runs.length === 0 && !props.error && <div className="jp-kf-empty">No runs of this notebook yet.</div>}
      <ul className="jp-kf-run-list" aria-label="Runs">
        {runs.map(run => {
          const isSelected = selected?.id === run.id;
          const metrics = metricsText(runMetrics(run));
          return (
            <li
              key={run.id}
              className={`jp-kf-run${isSelected ? ' jp-kf-selected' : ''}`}
              data-testid="kf-run"
              data-run-id={run.id}
              data-status={run.status}
            >
              <button
                className="jp-kf-run-summary"
                aria-expanded={isSelected}
                aria-label={`Run ${run.id}, ${run.status}`}
                onClick={() => props.onSelect(run.id)}
              >
                <StatusBadge status={run.status} testid="kf-run-status" />
                <span className="jp-kf-run-id">{run.id}</span>
                <span className="jp-kf-run-meta" data-testid="kf-run-duration">
                  {formatDuration(runDuration(run))}
                </span>
                <span className="jp-kf-run-meta" data-testid="kf-run-backend">
                  {run.backend}
                </span>
              </button>
              {metrics && (
                <div className="jp-kf-run-metrics" data-testid="kf-run-metrics">
                  {metrics}
                </div>
              )}
              {isSelected && <RunDetail run={run} {...props} />}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** What a step has to open: its log once it started, its executed notebook once it ended having run. */
export function stepRecords(step: StepRun): { log: boolean; notebook: boolean } {
  const ran = step.status === 'succeeded' || step.status === 'failed' || step.status === 'cached';
  const started = !!step.started_at && (step.status === 'running' || step.status === 'cancelled');
  return { log: (ran || started) && !!step.log, notebook: ran && !!step.notebook };
}

/** A step's log, shown under the step it belongs to. */
function StepLogView(props: { log: StepLog | null; error: string | null; onClose: () => void }): JSX.Element {
  return (
    <div className="jp-kf-log" data-testid="kf-step-log">
      <div className="jp-kf-log-header">
        <span>{props.log ? `Log of ${props.log.step} (${props.log.run})` : 'Log'}</span>
        <button className="jp-kf-link" aria-label="Close log" data-testid="kf-log-close" onClick={props.onClose}>
          close
        </button>
      </div>
      {props.error ? (
        <div className="jp-kf-error-text">{props.error}</div>
      ) : (
        <pre data-testid="kf-step-log-text">{props.log?.text || '(empty log)'}</pre>
      )}
    </div>
  );
}

function RunDetail(props: RunsProps & { run: Run }): JSX.Element {
  const { run } = props;
  const finished = isFinished(run);
  const records = stepRecords;
  const logShown = (step: string) =>
    (props.log?.run === run.id && props.log.step === step) || (!!props.logError && props.logFor === `${run.id}/${step}`);
  return (
    <div className="jp-kf-run-detail" data-testid="kf-run-detail">
      <div className="jp-kf-run-actions">
        {!finished && (
          <button className="jp-mod-styled jp-mod-warn" data-testid="kf-run-cancel" onClick={() => props.onCancel(run.id)}>
            Cancel
          </button>
        )}
        {finished && run.status !== 'succeeded' && (
          <button className="jp-mod-styled jp-mod-reject" data-testid="kf-run-retry" onClick={() => props.onRetry(run.id)}>
            Retry failed steps
          </button>
        )}
        {run.external_url && (
          <a href={run.external_url} target="_blank" rel="noreferrer">
            open on cluster
          </a>
        )}
      </div>
      {run.error && (
        <div className="jp-kf-error-text" data-testid="kf-run-error">
          {run.error}
        </div>
      )}
      {run.retry_of && <div className="jp-kf-hint">retry of {run.retry_of}</div>}
      {Object.keys(run.parameters ?? {}).length > 0 && (
        <div className="jp-kf-hint">parameters: {metricsText(run.parameters)}</div>
      )}
      <ul className="jp-kf-run-steps" aria-label={`Steps of run ${run.id}`}>
        {run.steps.map(step => (
          <li key={step.name} className="jp-kf-run-step" data-testid="kf-run-step" data-step={step.name} data-status={step.status}>
            <div className="jp-kf-run-step-line">
              <StatusBadge status={step.status} testid="kf-run-step-status" />
              <span className="jp-kf-step-name" title={step.name}>
                {step.name}
              </span>
              <span className="jp-kf-run-meta">{formatDuration(step.duration)}</span>
            </div>
            {(records(step).log || records(step).notebook) && (
              <div className="jp-kf-run-step-actions">
                {records(step).log && (
                  <button
                    className="jp-kf-link"
                    data-testid="kf-step-log-button"
                    aria-label={`Log of step ${step.name}`}
                    onClick={() => props.onLog(run.id, step.name)}
                  >
                    log
                  </button>
                )}
                {records(step).notebook && (
                  <button
                    className="jp-kf-link"
                    data-testid="kf-step-open-notebook"
                    aria-label={`Open the executed notebook of step ${step.name}`}
                    onClick={() => props.onOpenNotebook(run.id, step.name)}
                  >
                    notebook
                  </button>
                )}
              </div>
            )}
            {step.cached_from && (
              <div className="jp-kf-hint">
                cached from <span className="jp-kf-nowrap">{step.cached_from}</span>
              </div>
            )}
            {step.error && (
              <div className="jp-kf-error-text" data-testid="kf-run-step-error">
                {step.error}
                {step.failed_cell !== null && step.failed_cell !== undefined && (
                  <>
                    {' '}
                    <button className="jp-kf-link" onClick={() => props.onSelectCell(step.failed_cell!)}>
                      cell {step.failed_cell + 1}
                    </button>
                  </>
                )}
              </div>
            )}
            {Object.keys(step.metrics ?? {}).length > 0 && <div className="jp-kf-hint">{metricsText(step.metrics)}</div>}
            {logShown(step.name) && <StepLogView log={props.log} error={props.logError} onClose={props.onCloseLog} />}
          </li>
        ))}
      </ul>
    </div>
  );
}
