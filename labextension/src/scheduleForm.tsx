/**
 * The schedule form (beside the run form): cron expression with its time zone, or an interval;
 * the parameters prefilled like the run form's; the backend and the missed/overlap policies.
 */
import * as React from 'react';

import { coerceParameter, showParameter } from './parameters';
import { MissedPolicy, OverlapPolicy, ScheduleRequest } from './scheduleTypes';
import { BackendInfo, Parameter } from './types';

export interface ScheduleFormProps {
  notebook: string;
  parameters: Parameter[];
  backends: BackendInfo[];
  canSchedule: boolean;
  why: string | null;
  busy: boolean;
  error: { message: string; field: string | null } | null;
  onCreate: (request: ScheduleRequest) => void;
}

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function ScheduleForm(props: ScheduleFormProps): JSX.Element {
  const [mode, setMode] = React.useState<'cron' | 'interval'>('cron');
  const [cron, setCron] = React.useState('0 3 * * *');
  const [minutes, setMinutes] = React.useState('60');
  const [timezone, setTimezone] = React.useState(browserTimeZone());
  const [backend, setBackend] = React.useState('local');
  const [overlap, setOverlap] = React.useState<OverlapPolicy>('skip');
  const [missed, setMissed] = React.useState<MissedPolicy>('run_once');
  const [values, setValues] = React.useState<Record<string, string>>({});

  const errors: string[] = [];
  const parameters: Record<string, unknown> = {};
  for (const p of props.parameters) {
    const text = values[p.name];
    if (text === undefined || text === showParameter(p)) {
      continue;
    }
    const { value, error } = coerceParameter(p, text);
    if (error) {
      errors.push(error);
    } else {
      parameters[p.name] = value;
    }
  }
  const interval = Number(minutes) * 60;
  if (mode === 'interval' && !(interval >= 60)) {
    errors.push('interval: at least 1 minute');
  }
  const disabled = !props.canSchedule || props.busy || errors.length > 0;
  const usable = props.backends.filter(b => b.available && b.configured);
  const fieldError = (field: string) =>
    props.error && props.error.field === field ? (
      <div className="jp-kf-error-text" role="alert" data-testid={`kf-schedule-error-${field}`}>
        {props.error.message}
      </div>
    ) : null;

  return (
    <form
      className="jp-kf-run-form jp-kf-schedule-form"
      data-testid="kf-schedule-form"
      onSubmit={e => {
        e.preventDefault();
        if (disabled) {
          return;
        }
        const request: ScheduleRequest = { notebook: props.notebook, backend, overlap, missed, parameters };
        if (mode === 'cron') {
          request.cron = cron;
          request.timezone = timezone;
        } else {
          request.interval = interval;
        }
        props.onCreate(request);
      }}
    >
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-schedule-mode">Every</label>
        <select
          id="jp-kf-schedule-mode"
          className="jp-mod-styled"
          data-testid="kf-schedule-mode"
          value={mode}
          onChange={e => setMode(e.target.value as 'cron' | 'interval')}
        >
          <option value="cron">cron expression</option>
          <option value="interval">interval (minutes)</option>
        </select>
      </div>
      {mode === 'cron' ? (
        <>
          <div className="jp-kf-row">
            <label htmlFor="jp-kf-schedule-cron">Cron</label>
            <input
              id="jp-kf-schedule-cron"
              className="jp-mod-styled jp-kf-input"
              data-testid="kf-schedule-cron"
              aria-label="Cron expression (minute hour day month weekday)"
              placeholder="0 3 * * *"
              value={cron}
              onChange={e => setCron(e.target.value)}
            />
          </div>
          {fieldError('cron')}
          <div className="jp-kf-row">
            <label htmlFor="jp-kf-schedule-tz">Time zone</label>
            <input
              id="jp-kf-schedule-tz"
              className="jp-mod-styled jp-kf-input"
              data-testid="kf-schedule-timezone"
              aria-label="Time zone (IANA name)"
              value={timezone}
              onChange={e => setTimezone(e.target.value)}
            />
          </div>
          {fieldError('timezone')}
        </>
      ) : (
        <div className="jp-kf-row">
          <label htmlFor="jp-kf-schedule-minutes">Minutes</label>
          <input
            id="jp-kf-schedule-minutes"
            className="jp-mod-styled jp-kf-input"
            data-testid="kf-schedule-minutes"
            aria-label="Interval in minutes"
            value={minutes}
            onChange={e => setMinutes(e.target.value)}
          />
        </div>
      )}
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-schedule-backend">Backend</label>
        <select
          id="jp-kf-schedule-backend"
          className="jp-mod-styled"
          data-testid="kf-schedule-backend"
          value={backend}
          onChange={e => setBackend(e.target.value)}
        >
          {(usable.length ? usable : [{ name: 'local' }]).map(b => (
            <option key={b.name} value={b.name}>
              {b.name}
            </option>
          ))}
        </select>
      </div>
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-schedule-overlap" title="When the previous run is still going">
          If still running
        </label>
        <select
          id="jp-kf-schedule-overlap"
          className="jp-mod-styled"
          data-testid="kf-schedule-overlap"
          value={overlap}
          onChange={e => setOverlap(e.target.value as OverlapPolicy)}
        >
          <option value="skip">skip this one</option>
          <option value="queue">queue it</option>
          <option value="allow">run anyway</option>
        </select>
      </div>
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-schedule-missed" title="Due times passed while no server or scheduler ran">
          If missed
        </label>
        <select
          id="jp-kf-schedule-missed"
          className="jp-mod-styled"
          data-testid="kf-schedule-missed"
          value={missed}
          onChange={e => setMissed(e.target.value as MissedPolicy)}
        >
          <option value="run_once">run once at start</option>
          <option value="skip">skip</option>
        </select>
      </div>
      {props.parameters.length > 0 && (
        <fieldset className="jp-kf-fieldset" data-testid="kf-schedule-parameters">
          <legend>Parameters</legend>
          {props.parameters.map(p => (
            <div className="jp-kf-row" key={p.name}>
              <label htmlFor={`jp-kf-sparam-${p.name}`}>{p.name}</label>
              <input
                id={`jp-kf-sparam-${p.name}`}
                className="jp-mod-styled jp-kf-input"
                data-testid={`kf-schedule-param-${p.name}`}
                aria-label={`Scheduled parameter ${p.name} (${p.type})`}
                value={values[p.name] ?? showParameter(p)}
                onChange={e => setValues({ ...values, [p.name]: e.target.value })}
              />
            </div>
          ))}
        </fieldset>
      )}
      {errors.map(e => (
        <div key={e} className="jp-kf-error-text" role="alert">
          {e}
        </div>
      ))}
      {props.error && !['cron', 'timezone'].includes(props.error.field ?? '') && (
        <div className="jp-kf-error-text" role="alert" data-testid="kf-schedule-error">
          {props.error.message}
        </div>
      )}
      <div className="jp-kf-row">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          data-testid="kf-schedule-create"
          disabled={disabled}
          title={props.why ?? 'Run this notebook as a pipeline on this schedule'}
        >
          {props.busy ? 'Scheduling…' : 'Schedule'}
        </button>
        {props.why && <span className="jp-kf-hint">{props.why}</span>}
      </div>
    </form>
  );
}
