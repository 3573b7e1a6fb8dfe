/**
 * The panel's Sweeps section: a sweep form prefilled from the parameters cell (each parameter's
 * default shown; a spec in the CLI grammar sweeps it), the live comparison table of the trials
 * (parameters, objective, duration, status; sortable; the best highlighted), plots of the
 * objective over trials and of a parameter against the objective, and cancel.
 */
import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

import { formatValue, StatusBadge } from './components';
import { parseSpec, Sweep, SweepApi, SweepParameter, SweepRequest, Trial } from './sweepApi';
import { formatDuration, Parameter } from './types';

const POLL_MS = 1000;

export interface SweepsSectionProps {
  settings: ServerConnection.ISettings;
  notebook: string;
  parameters: Parameter[];
  metrics: string[];
  canSweep: boolean;
  why: string | null;
}

export function SweepsSection(props: SweepsSectionProps): JSX.Element {
  const api = React.useMemo(() => new SweepApi(props.settings), [props.settings]);
  const [specs, setSpecs] = React.useState<Record<string, string>>({});
  const [objective, setObjective] = React.useState(props.metrics[0] ?? '');
  const [direction, setDirection] = React.useState<'max' | 'min'>('max');
  const [algorithm, setAlgorithm] = React.useState<'grid' | 'random' | 'tpe'>('tpe');
  const [trials, setTrials] = React.useState('20');
  const [parallel, setParallel] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [sweep, setSweep] = React.useState<Sweep | null>(null);

  React.useEffect(() => {
    if (!objective && props.metrics.length) {
      setObjective(props.metrics[0]);
    }
  }, [props.metrics]);

  React.useEffect(() => {
    let stop = false;
    void api
      .list(props.notebook)
      .then(list => !stop && list.length && setSweep(s => s ?? list[0]))
      .catch(() => undefined);
    return () => {
      stop = true;
    };
  }, [api, props.notebook]);

  React.useEffect(() => {
    if (!sweep || sweep.status !== 'running') {
      return;
    }
    const timer = window.setTimeout(() => {
      api.get(sweep.id).then(setSweep, e => setError(String(e.message ?? e)));
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [api, sweep]);

  const start = async (): Promise<void> => {
    setError(null);
    const space: SweepParameter[] = [];
    for (const p of props.parameters) {
      const text = (specs[p.name] ?? '').trim();
      if (text) {
        const parsed = parseSpec(p.name, text);
        if (parsed.error) {
          setError(parsed.error);
          return;
        }
        space.push(parsed.value!);
      }
    }
    const request: SweepRequest = {
      notebook: props.notebook,
      space,
      objective,
      direction,
      algorithm,
      trials: trials.trim() ? Number(trials) : null,
      parallel: parallel.trim() ? Number(parallel) : null
    };
    try {
      setSweep(await api.start(request));
    } catch (e: any) {
      setError(String(e.message ?? e));
    }
  };

  return (
    <div className="jp-kf-sweeps" data-testid="kf-sweeps">
      <div className="jp-kf-sweep-form" data-testid="kf-sweep-form">
        {props.parameters.map(p => (
          <label key={p.name} className="jp-kf-field">
            <span>
              {p.name} <small>({p.type}, now {formatValue(p.default)})</small>
            </span>
            <input
              data-testid={`kf-sweep-spec-${p.name}`}
              placeholder={p.type === 'int' || p.type === 'float' ? 'LOW:HIGH[:log|:STEP] or A,B,C' : 'A,B,C'}
              value={specs[p.name] ?? ''}
              onChange={e => setSpecs({ ...specs, [p.name]: e.target.value })}
            />
          </label>
        ))}
        <label className="jp-kf-field">
          <span>objective</span>
          <select data-testid="kf-sweep-objective" value={objective} onChange={e => setObjective(e.target.value)}>
            {props.metrics.map(m => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          <select data-testid="kf-sweep-direction" value={direction} onChange={e => setDirection(e.target.value as 'max' | 'min')}>
            <option value="max">max</option>
            <option value="min">min</option>
          </select>
        </label>
        <label className="jp-kf-field">
          <span>algorithm</span>
          <select data-testid="kf-sweep-algorithm" value={algorithm} onChange={e => setAlgorithm(e.target.value as any)}>
            <option value="tpe">tpe (Bayesian)</option>
            <option value="random">random</option>
            <option value="grid">grid</option>
          </select>
        </label>
        <label className="jp-kf-field">
          <span>trials</span>
          <input data-testid="kf-sweep-trials" value={trials} onChange={e => setTrials(e.target.value)} />
        </label>
        <label className="jp-kf-field">
          <span>parallel</span>
          <input data-testid="kf-sweep-parallel" placeholder="default" value={parallel} onChange={e => setParallel(e.target.value)} />
        </label>
        <button
          className="jp-kf-button"
          data-testid="kf-sweep-start"
          disabled={!props.canSweep || !objective}
          title={props.why ?? (objective ? '' : 'the notebook has no pipeline-metrics cell')}
          onClick={() => void start()}
        >
          Start sweep
        </button>
        {error && (
          <div className="jp-kf-error" data-testid="kf-sweep-error">
            {error}
          </div>
        )}
      </div>
      {sweep && <SweepView sweep={sweep} onCancel={() => void api.cancel(sweep.id).then(setSweep)} />}
    </div>
  );
}

function SweepView(props: { sweep: Sweep; onCancel: () => void }): JSX.Element {
  const s = props.sweep;
  const names = s.request.space.map(p => p.name);
  const [sortKey, setSortKey] = React.useState<string>('#');
  const [desc, setDesc] = React.useState(false);
  const [plotParam, setPlotParam] = React.useState(names[0] ?? '');
  const done = s.trials.filter(t => t.status !== 'running').length;
  const key = (t: Trial): any =>
    sortKey === '#' ? t.number : sortKey === 'objective' ? t.value ?? -Infinity : sortKey === 'duration' ? t.duration ?? 0 : sortKey === 'status' ? t.status : t.parameters[sortKey];
  const rows = [...s.trials].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const c = x < y ? -1 : x > y ? 1 : 0;
    return desc ? -c : c;
  });
  const header = (k: string, label: string = k): JSX.Element => (
    <th
      key={k}
      data-testid={`kf-sweep-sort-${k}`}
      onClick={() => (k === sortKey ? setDesc(!desc) : (setSortKey(k), setDesc(k === 'objective' && s.request.direction === 'max')))}
    >
      {label}
      {k === sortKey ? (desc ? ' ▼' : ' ▲') : ''}
    </th>
  );
  return (
    <div className="jp-kf-sweep" data-testid="kf-sweep">
      <div className="jp-kf-sweep-progress" data-testid="kf-sweep-progress">
        <StatusBadge status={s.status} /> {s.id}: {done}/{s.budget ?? '?'} trials done; best {s.request.objective}:{' '}
        {s.best_value === null ? '-' : `${formatValue(s.best_value)} (trial ${s.best})`}
        {s.status === 'running' && (
          <button className="jp-kf-link" data-testid="kf-sweep-cancel" onClick={props.onCancel}>
            cancel
          </button>
        )}
      </div>
      <table className="jp-kf-sweep-table" data-testid="kf-sweep-table">
        <thead>
          <tr>
            {header('#')}
            {names.map(n => header(n))}
            {header('objective', s.request.objective)}
            {header('duration')}
            {header('status')}
            <th>run</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(t => (
            <tr key={t.number} className={t.number === s.best ? 'jp-kf-best' : ''} data-testid={`kf-trial-${t.number}`}>
              <td>{t.number}</td>
              {names.map(n => (
                <td key={n}>{formatValue(t.parameters[n])}</td>
              ))}
              <td>{t.value === null ? '-' : formatValue(t.value)}</td>
              <td>{formatDuration(t.duration)}</td>
              <td title={t.error ?? ''}>{t.status}</td>
              <td>{t.run ?? '-'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Plot
        testid="kf-sweep-plot-trials"
        title={`${s.request.objective} over trials`}
        points={s.trials.filter(t => t.value !== null).map(t => [t.number, t.value as number, t.number === s.best])}
      />
      {names.length > 0 && (
        <div>
          <select data-testid="kf-sweep-plot-param" value={plotParam} onChange={e => setPlotParam(e.target.value)}>
            {names.map(n => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <Plot
            testid="kf-sweep-plot-param-chart"
            title={`${s.request.objective} against ${plotParam}`}
            points={s.trials
              .filter(t => t.value !== null)
              .map(t => [t.parameters[plotParam], t.value as number, t.number === s.best])}
          />
        </div>
      )}
    </div>
  );
}

/** A small SVG scatter plot; x values that are not numbers are placed as categories. */
function Plot(props: { title: string; points: [unknown, number, boolean][]; testid: string }): JSX.Element {
  const W = 260;
  const H = 120;
  const P = 8;
  const cats = [...new Set(props.points.filter(p => typeof p[0] !== 'number').map(p => String(p[0])))];
  const xs = props.points.map(p => (typeof p[0] === 'number' ? p[0] : cats.indexOf(String(p[0]))));
  const ys = props.points.map(p => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => P + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  const sy = (y: number): number => H - P - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P);
  return (
    <svg width={W} height={H} className="jp-kf-plot" data-testid={props.testid} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      <rect x={0} y={0} width={W} height={H} fill="none" stroke="var(--jp-border-color2)" />
      {props.points.map((p, i) => (
        <circle key={i} cx={sx(xs[i])} cy={sy(ys[i])} r={p[2] ? 4 : 2.5} className={p[2] ? 'jp-kf-best' : ''} fill={p[2] ? 'var(--jp-brand-color1)' : 'var(--jp-ui-font-color2)'} />
      ))}
    </svg>
  );
}
