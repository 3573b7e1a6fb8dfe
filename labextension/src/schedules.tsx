/**
 * The panel's Schedules section: the schedule form and the notebook's schedules with their
 * next due time and last run (polled while the section is shown); pause, resume, delete.
 */
import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

import { ApiError } from './api';
import { ScheduleApi } from './scheduleApi';
import { ScheduleForm } from './scheduleForm';
import { describeTiming, localTime, Schedule, ScheduleFire, ScheduleRequest } from './scheduleTypes';
import { BackendInfo, Parameter } from './types';

const POLL_MS = 3000;

export interface SchedulesSectionProps {
  settings: ServerConnection.ISettings;
  notebook: string;
  parameters: Parameter[];
  backends: BackendInfo[];
  canSchedule: boolean;
  why: string | null;
  /** A schedule started a run: let the runs list pick it up. */
  onNewRun?: () => void;
}

function lastText(f: ScheduleFire | null): string {
  if (!f) {
    return 'no run yet';
  }
  const when = localTime(f.due);
  if (f.run) {
    return `${when}: run ${f.run} ${f.run_status ?? f.state}`;
  }
  return `${when}: ${f.state}${f.error ? ` (${f.error})` : ''}`;
}

export function SchedulesSection(props: SchedulesSectionProps): JSX.Element {
  const api = React.useMemo(() => new ScheduleApi(props.settings), [props.settings]);
  const [schedules, setSchedules] = React.useState<Schedule[]>([]);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [formError, setFormError] = React.useState<{ message: string; field: string | null } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const runsSeen = React.useRef<Set<string>>(new Set());

  const refresh = React.useCallback(async () => {
    try {
      const found = await api.list(props.notebook);
      setSchedules(found);
      setLoadError(null);
      let fresh = false;
      for (const s of found) {
        for (const f of s.history) {
          if (f.run && !runsSeen.current.has(f.run)) {
            runsSeen.current.add(f.run);
            fresh = true;
          }
        }
      }
      if (fresh) {
        props.onNewRun?.();
      }
    } catch (e) {
      setLoadError(e instanceof ApiError ? e.message : String(e));
    }
  }, [api, props.notebook]);

  React.useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => void refresh(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [refresh]);

  const create = async (request: ScheduleRequest) => {
    setBusy(true);
    setFormError(null);
    try {
      await api.create(request);
      await refresh();
    } catch (e) {
      setFormError(e instanceof ApiError ? { message: e.message, field: e.field } : { message: String(e), field: null });
    } finally {
      setBusy(false);
    }
  };

  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      setLoadError(e instanceof ApiError ? e.message : String(e));
    }
    await refresh();
  };

  return (
    <div className="jp-kf-schedules">
      <ScheduleForm
        notebook={props.notebook}
        parameters={props.parameters}
        backends={props.backends}
        canSchedule={props.canSchedule}
        why={props.why}
        busy={busy}
        error={formError}
        onCreate={r => void create(r)}
      />
      {loadError && (
        <div className="jp-kf-error-text" role="alert">
          Schedules: {loadError}
        </div>
      )}
      {schedules.length === 0 ? (
        <div className="jp-kf-empty">No schedules.</div>
      ) : (
        <ul className="jp-kf-schedule-list" data-testid="kf-schedule-list">
          {schedules.map(s => (
            <li key={s.id} className="jp-kf-schedule" data-testid="kf-schedule-item" data-schedule-id={s.id}>
              <div className="jp-kf-row">
                <strong>{describeTiming(s)}</strong>
                <span className="jp-kf-hint">
                  {s.deployed
                    ? `on the cluster (${s.deployed.target === 'argo' ? 'CronWorkflow' : 'KFP recurring run'} ${s.deployed.name})`
                    : s.paused
                      ? 'paused'
                      : `next ${localTime(s.next_due[0])}`}
                </span>
              </div>
              <div className="jp-kf-hint" data-testid="kf-schedule-last">
                last: {lastText(s.last)}
              </div>
              <div className="jp-kf-row">
                <button
                  className="jp-kf-link"
                  data-testid="kf-schedule-toggle"
                  onClick={() => void act(() => (s.paused ? api.resume(s.id) : api.pause(s.id)))}
                >
                  {s.paused ? 'resume' : 'pause'}
                </button>
                <button className="jp-kf-link" data-testid="kf-schedule-delete" onClick={() => void act(() => api.remove(s.id))}>
                  delete
                </button>
                <span className="jp-kf-hint">{s.id}</span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
