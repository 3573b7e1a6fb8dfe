/**
 * The step editor of the active cell: its kind, and for a step its name, dependencies, resource
 * limits, image, cache, timeout and retries. Every change is written as the cell tags a user
 * could type (NotebookState.setRole); tags edited by hand show up here at once.
 */
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { CommitInput } from './components';
import { earlierSteps, NotebookModel } from './model';
import {
  CELL_KINDS,
  CellKind,
  CellRole,
  emptyRole,
  KIND_LABELS,
  k8sName,
  parseDuration,
  validateLimit,
  validateStepName
} from './tags';

const COMMON_LIMITS = ['cpu', 'memory', 'nvidia.com/gpu'];

export interface CellEditorProps {
  model: NotebookModel;
  cellIndex: number;
  role: CellRole;
  tags: string[];
  setRole: (role: CellRole) => void;
  selectCell: (index: number) => void;
}

/** A step name not used yet in the notebook: step-1, step-2, ... */
export function suggestStepName(model: NotebookModel): string {
  const names = new Set(model.steps.map(s => s.name));
  let n = model.steps.filter(s => !s.implicit).length + 1;
  while (names.has(`step-${n}`)) {
    n++;
  }
  return `step-${n}`;
}

export function CellEditor(props: CellEditorProps): JSX.Element {
  const { model, cellIndex, role, setRole } = props;
  const assignment = model.cells[cellIndex];
  const upstream = earlierSteps(model, cellIndex);
  const update = (patch: Partial<CellRole>) => setRole({ ...role, ...patch });

  const changeKind = (kind: CellKind) => {
    if (kind === role.kind) {
      return;
    }
    if (kind === 'step') {
      setRole({ ...emptyRole('step'), name: role.name ?? suggestStepName(model) });
    } else {
      setRole(emptyRole(kind));
    }
  };

  const ownerStep = assignment?.block === 'step' ? model.steps.find(s => s.name === assignment.step) : undefined;

  if (assignment && assignment.cellType !== 'code') {
    return (
      <div className="jp-kf-cell-editor" data-testid="kf-cell-editor" data-cell-index={cellIndex}>
        <div className="jp-kf-hint" data-testid="kf-cell-belongs">
          A {assignment.cellType} cell is documentation: it goes with the step it sits in
          {assignment.step ? (
            <>
              {' '}
              (<strong>{assignment.step}</strong>)
            </>
          ) : null}
          . Select a code cell to tag it.
        </div>
      </div>
    );
  }

  return (
    <div className="jp-kf-cell-editor" data-testid="kf-cell-editor" data-cell-index={cellIndex}>
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-kind">Cell {cellIndex + 1} is</label>
        <HTMLSelect
          id="jp-kf-kind"
          className="jp-kf-select"
          data-testid="kf-cell-kind"
          aria-label="Cell kind"
          value={role.kind}
          onChange={e => changeKind(e.target.value as CellKind)}
        >
          {CELL_KINDS.map(k => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </HTMLSelect>
      </div>
      {role.kind === 'none' && (
        <div className="jp-kf-hint" data-testid="kf-cell-belongs">
          {assignment?.block === 'step' && ownerStep ? (
            <>
              Part of step <strong>{ownerStep.name}</strong>{' '}
              {ownerStep.firstCell !== cellIndex && (
                <button className="jp-kf-link" onClick={() => props.selectCell(ownerStep.firstCell)}>
                  go to its first cell
                </button>
              )}
            </>
          ) : assignment?.block ? (
            <>
              Part of the <strong>{assignment.block}</strong> block.
            </>
          ) : (
            'Not part of the pipeline.'
          )}
        </div>
      )}
      {role.kind === 'step' && (
        <StepFields role={role} upstream={upstream.map(s => s.name)} update={update} />
      )}
      <div className="jp-kf-tags" data-testid="kf-cell-tags" aria-label="Cell tags">
        {props.tags.length ? props.tags.map(t => <code key={t}>{t}</code>) : <em>no tags</em>}
      </div>
    </div>
  );
}

function StepFields(props: {
  role: CellRole;
  upstream: string[];
  update: (patch: Partial<CellRole>) => void;
}): JSX.Element {
  const { role, upstream, update } = props;
  const prev = role.prev.map(k8sName);
  const extraPrev = role.prev.filter(p => !upstream.includes(k8sName(p)));
  const limitNames = [...COMMON_LIMITS, ...Object.keys(role.limits).filter(r => !COMMON_LIMITS.includes(r))];
  const cacheValue = role.cache === undefined ? 'default' : role.cache ? 'enabled' : 'disabled';

  const setLimit = (resource: string, value: string): string | null => {
    const v = value.trim();
    const limits = { ...role.limits };
    if (!v) {
      delete limits[resource];
    } else {
      const err = validateLimit(resource, v);
      if (err) {
        return `expected ${err}`;
      }
      limits[resource] = v;
    }
    update({ limits });
    return null;
  };

  return (
    <div className="jp-kf-step-fields">
      <div className="jp-kf-row">
        <label>Step name</label>
        <CommitInput
          value={role.name ?? ''}
          label="Step name"
          testid="kf-step-name"
          onCommit={v => {
            const err = validateStepName(v);
            if (err) {
              return err;
            }
            update({ name: v.trim() });
            return null;
          }}
        />
      </div>
      <fieldset className="jp-kf-fieldset" data-testid="kf-step-prev">
        <legend>Depends on (prev:)</legend>
        {upstream.length === 0 && extraPrev.length === 0 && <em>no earlier step</em>}
        {upstream.map(name => (
          <label key={name} className="jp-kf-check">
            <input
              type="checkbox"
              data-testid={`kf-prev-${name}`}
              aria-label={`Depends on ${name}`}
              checked={prev.includes(name)}
              onChange={e =>
                update({
                  prev: e.target.checked
                    ? [...role.prev, name]
                    : role.prev.filter(p => k8sName(p) !== name)
                })
              }
            />
            {name}
          </label>
        ))}
        {extraPrev.map(name => (
          <label key={name} className="jp-kf-check jp-kf-invalid-text">
            <input
              type="checkbox"
              aria-label={`Depends on ${name} (not an earlier step)`}
              checked
              onChange={() => update({ prev: role.prev.filter(p => p !== name) })}
            />
            {name} (not an earlier step)
          </label>
        ))}
        <div className="jp-kf-hint">Data dependencies are inferred; add prev: for files or side effects.</div>
      </fieldset>
      <fieldset className="jp-kf-fieldset">
        <legend>Resource limits</legend>
        {limitNames.map(resource => (
          <div className="jp-kf-row" key={resource}>
            <label title={resource}>{resource === 'nvidia.com/gpu' ? 'gpu' : resource}</label>
            <CommitInput
              value={role.limits[resource] ?? ''}
              label={`Limit ${resource}`}
              testid={`kf-limit-${resource.replace(/[^a-z0-9]/gi, '-')}`}
              placeholder={resource === 'memory' ? 'e.g. 2Gi' : resource === 'cpu' ? 'e.g. 500m' : 'e.g. 1'}
              onCommit={v => setLimit(resource, v)}
            />
          </div>
        ))}
      </fieldset>
      <div className="jp-kf-row">
        <label>Image</label>
        <CommitInput
          value={role.image ?? ''}
          label="Container image"
          testid="kf-step-image"
          placeholder="pipeline default"
          onCommit={v => {
            const image = v.trim();
            if (/\s/.test(image)) {
              return 'an image reference has no spaces';
            }
            update({ image: image || undefined });
            return null;
          }}
        />
      </div>
      <div className="jp-kf-row">
        <label htmlFor="jp-kf-cache">Cache</label>
        <HTMLSelect
          id="jp-kf-cache"
          className="jp-kf-select"
          data-testid="kf-step-cache"
          aria-label="Step cache"
          value={cacheValue}
          onChange={e =>
            update({ cache: e.target.value === 'default' ? undefined : e.target.value === 'enabled' })
          }
        >
          <option value="default">pipeline default</option>
          <option value="enabled">enabled</option>
          <option value="disabled">disabled</option>
        </HTMLSelect>
      </div>
      <div className="jp-kf-row">
        <label>Timeout</label>
        <CommitInput
          value={role.timeout ?? ''}
          label="Timeout"
          testid="kf-step-timeout"
          placeholder="e.g. 90, 5m, 2h"
          onCommit={v => {
            const t = v.trim();
            if (t && parseDuration(t) === null) {
              return 'a positive number of seconds, optionally with s, m or h';
            }
            update({ timeout: t || undefined });
            return null;
          }}
        />
      </div>
      <div className="jp-kf-row">
        <label>Retries</label>
        <CommitInput
          value={role.retries === undefined ? '' : String(role.retries)}
          label="Retries"
          testid="kf-step-retries"
          placeholder="0"
          onCommit={v => {
            const t = v.trim();
            if (t && !/^\d+$/.test(t)) {
              return 'a whole number, 0 or more';
            }
            update({ retries: t ? parseInt(t, 10) : undefined });
            return null;
          }}
        />
      </div>
    </div>
  );
}
