/**
 * The run form: backend selector (from GET backends), the parameters prefilled from the
 * `pipeline-parameters` cell (the compiled IR), the cache option and the Run button.
 */
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { coerceParameter, showParameter } from './parameters';
import { BackendInfo, Parameter } from './types';

export interface RunFormProps {
  backends: BackendInfo[];
  backendsError: string | null;
  defaultBackend: string;
  defaultCache: boolean;
  parameters: Parameter[];
  canRun: boolean;
  why: string | null;
  starting: boolean;
  onRun: (options: { backend: string; parameters: Record<string, unknown>; cache: boolean }) => void;
}

export function RunForm(props: RunFormProps): JSX.Element {
  const usable = props.backends.filter(b => b.available && b.configured);
  const fallback = usable.find(b => b.name === props.defaultBackend)?.name ?? usable[0]?.name ?? 'local';
  const [backend, setBackend] = React.useState<string | null>(null);
  const [cache, setCache] = React.useState<boolean | null>(null);
  const [values, setValues] = React.useState<Record<string, string>>({});
  const chosen = backend ?? fallback;
  const useCache = cache ?? props.defaultCache;

  const errors: string[] = [];
  const overrides: Record<string, unknown> = {};
  for (const p of props.parameters) {
    const text = values[p.name];
    if (text === undefined || text === showParameter(p)) {
      continue;
    }
    const { value, error } = coerceParameter(p, text);
    if (error) {
      errors.push(error);
    } else {
      overrides[p.name] = value;
    }
  }
  const disabled = !props.canRun || props.starting || errors.length > 0;
  // Why Run is disabled, for its tooltip (the parameter errors also show under their fields).
  const whyNot = props.why ?? (errors.length ? `Fix the parameter first: ${errors.join('; ')}` : null);

  return (
    <form
      className="jp-kf-run-form"
      data-testid="kf-run-form"
      onSubmit={e => {
        e.preventDefault();
        if (!disabled) {
          props.onRun({ backend: chosen, parameters: overrides, cache: useCache });
        }
      }}
    >
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-backend">Backend</label>
        <HTMLSelect
          id="jp-kf-backend"
          className="jp-kf-select"
          data-testid="kf-backend"
          aria-label="Backend"
          value={chosen}
          onChange={e => setBackend(e.target.value)}
        >
          {(props.backends.length ? props.backends : [{ name: 'local', available: true, configured: true }]).map(b => (
            <option
              key={b.name}
              value={b.name}
              disabled={!(b.available && b.configured)}
              title={b.reason ?? b.description ?? ''}
            >
              {b.name}
              {b.available && b.configured ? '' : ` (${b.reason ?? 'not configured'})`}
            </option>
          ))}
        </HTMLSelect>
      </div>
      {props.backendsError && <div className="jp-kf-error-text">Backends: {props.backendsError}</div>}
      {props.parameters.length > 0 && (
        <fieldset className="jp-kf-fieldset" data-testid="kf-parameters">
          <legend>Parameters</legend>
          {props.parameters.map(p => {
            const text = values[p.name] ?? showParameter(p);
            const id = `jp-kf-param-${p.name}`;
            return (
              <div className="jp-kf-row" key={p.name}>
                <label htmlFor={id} title={`${p.type}, default ${showParameter(p)}`}>
                  {p.name}
                </label>
                {p.type === 'bool' ? (
                  <input
                    id={id}
                    type="checkbox"
                    data-testid={`kf-param-${p.name}`}
                    aria-label={`Parameter ${p.name}`}
                    checked={text === 'true'}
                    onChange={e => setValues({ ...values, [p.name]: String(e.target.checked) })}
                  />
                ) : (
                  <input
                    id={id}
                    className="jp-mod-styled jp-kf-input"
                    type="text"
                    data-testid={`kf-param-${p.name}`}
                    aria-label={`Parameter ${p.name} (${p.type})`}
                    value={text}
                    onChange={e => setValues({ ...values, [p.name]: e.target.value })}
                  />
                )}
              </div>
            );
          })}
          {errors.map(e => (
            <div key={e} className="jp-kf-error-text" role="alert">
              {e}
            </div>
          ))}
        </fieldset>
      )}
      <div className="jp-kf-row">
        <label className="jp-kf-check">
          <input
            type="checkbox"
            data-testid="kf-run-cache"
            aria-label="Use cached step results"
            checked={useCache}
            onChange={e => setCache(e.target.checked)}
          />
          Use cached step results
        </label>
      </div>
      <div className="jp-kf-row">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-kf-run-button"
          data-testid="kf-run-button"
          disabled={disabled}
          title={whyNot ?? 'Save the notebook and run it as a pipeline'}
        >
          {props.starting ? 'Starting…' : 'Run pipeline'}
        </button>
        {props.why && <span className="jp-kf-hint">{props.why}</span>}
      </div>
    </form>
  );
}
