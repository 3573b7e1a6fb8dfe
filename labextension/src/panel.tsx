/**
 * The left side panel for the current notebook: pipeline name, the active cell's step editor,
 * the steps with their dependencies, the graph, the problems, the run form and the runs.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { CellEditor } from './cellEditor';
import { Section } from './components';
import { KfController } from './controller';
import { PipelineGraph } from './graph';
import { pipelineIcon } from './icons';
import { NotebookModel, pipelineName, StepNotebookInfo } from './model';
import { tagsOf } from './notebookState';
import { ProblemsList } from './problems';
import { RunForm } from './runForm';
import { RunsList } from './runs';
import { SchedulesSection } from './schedules';
import { StoreSection } from './storeSection';
import { SweepsSection } from './sweeps';
import { CompileResult, StepStatus } from './types';

export class PipelinePanel extends ReactWidget {
  constructor(private readonly controller: KfController) {
    super();
    this.id = 'jupyter-kf-panel';
    this.addClass('jp-kf-panel');
    this.title.icon = pipelineIcon;
    this.title.caption = 'Pipeline';
    this.node.setAttribute('data-testid', 'kf-panel');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Pipeline panel');
    controller.changed.connect(() => this.update());
  }

  protected onAfterShow(): void {
    this.controller.panelVisible = true;
    void this.controller.refreshRuns();
  }

  protected onAfterHide(): void {
    this.controller.panelVisible = false;
  }

  render(): JSX.Element {
    return <PanelBody controller={this.controller} />;
  }
}

function StepsList(props: {
  model: NotebookModel;
  compiled: CompileResult | null;
  onSelect: (cell: number) => void;
}): JSX.Element {
  const compiledSteps = props.compiled?.pipeline.steps;
  const first = new Map(props.compiled?.graph.nodes.map(n => [n.id, n.first_cell]) ?? []);
  const steps = compiledSteps
    ? compiledSteps.map(s => ({ name: s.name, deps: s.depends_on, cell: first.get(s.name) ?? s.cells[0]?.index }))
    : props.model.steps.map(s => ({ name: s.name, deps: s.prev, cell: s.firstCell }));
  if (!steps.length) {
    return <div className="jp-kf-empty">No steps.</div>;
  }
  return (
    <ol className="jp-kf-steps" aria-label="Steps in order">
      {steps.map(s => (
        <li key={s.name} data-testid="kf-step-item" data-step={s.name}>
          <button className="jp-kf-link" onClick={() => s.cell !== undefined && s.cell !== null && props.onSelect(s.cell)}>
            {s.name}
          </button>
          {s.deps.length > 0 && <span className="jp-kf-hint"> ← {s.deps.join(', ')}</span>}
        </li>
      ))}
    </ol>
  );
}

/** An executed step notebook: say whose step it is; nothing to compile or run here. */
function StepNotebookView(props: { path: string; info: StepNotebookInfo }): JSX.Element {
  const { path, info } = props;
  return (
    <div className="jp-kf-body">
      <header className="jp-kf-header">
        <div className="jp-kf-title">
          <span className="jp-kf-title-label">Pipeline</span>
          <span className="jp-kf-pipeline-name" data-testid="kf-pipeline-name">
            {info.pipeline}
          </span>
        </div>
        <div className="jp-kf-notebook-path" title={path}>
          {path}
        </div>
      </header>
      <div
        className="jp-kf-step-notebook"
        data-testid="kf-step-notebook"
        data-step={info.step}
        data-pipeline={info.pipeline}
        data-run={info.run ?? ''}
        role="note"
      >
        <p>
          This is step <strong>{info.step}</strong> of pipeline <strong>{info.pipeline}</strong> (an executed step
          notebook{info.run ? <>, from run <code>{info.run}</code></> : null}).
        </p>
        <p className="jp-kf-hint">
          It records what the step ran, with its outputs; it is not compiled or run as a pipeline. To change the
          step, edit the pipeline&apos;s own notebook and run that.
        </p>
      </div>
    </div>
  );
}

function PanelBody(props: { controller: KfController }): JSX.Element {
  const c = props.controller;
  const state = c.current;
  if (!state) {
    return (
      <div className="jp-kf-empty jp-kf-no-notebook" data-testid="kf-no-notebook">
        Open a notebook to see it as a pipeline.
      </div>
    );
  }
  const stepNotebook = state.stepNotebook;
  if (stepNotebook) {
    return <StepNotebookView path={state.path} info={stepNotebook} />;
  }
  const compiled = state.compileResult;
  const notebook = state.panel.content;
  const activeIndex = notebook.activeCellIndex;
  const activeCell = notebook.activeCell;
  const role = activeCell ? state.roleOf(activeIndex) : null;
  const run = c.selectedRun;
  const statuses: Record<string, StepStatus> = {};
  for (const s of run?.steps ?? []) {
    statuses[s.name] = s.status;
  }
  const problems = compiled?.problems ?? [];
  const errors = problems.filter(p => p.severity === 'error').length;
  // The converter's naming rule, applied here: a compile of unsaved JSON does not know the file name.
  const name = pipelineName(state.path, (state.panel.model?.metadata ?? {}) as Record<string, any>);
  const why = !compiled
    ? 'Compile the notebook first.'
    : errors
      ? `Fix ${errors} problem${errors > 1 ? 's' : ''} first.`
      : null;

  return (
    <div className="jp-kf-body">
      <header className="jp-kf-header">
        <div className="jp-kf-title">
          <span className="jp-kf-title-label">Pipeline</span>
          <span className="jp-kf-pipeline-name" data-testid="kf-pipeline-name">
            {name}
          </span>
        </div>
        <div className="jp-kf-compile-state" data-testid="kf-compile-state" aria-live="polite">
          {state.compiling ? 'compiling…' : state.compileError ? 'compile failed' : state.upToDate ? 'up to date' : 'changed'}
          <button
            className="jp-mod-styled jp-kf-small-button"
            data-testid="kf-compile-button"
            onClick={() => void state.compile()}
            aria-label="Compile the pipeline now"
          >
            Compile
          </button>
        </div>
        <div className="jp-kf-notebook-path" title={state.path}>
          {state.path}
        </div>
        {state.compileError && (
          <div className="jp-kf-error-text" role="alert" data-testid="kf-compile-error">
            {state.compileError}
          </div>
        )}
        {c.message && (
          <div className={`jp-kf-message jp-kf-message-${c.message.kind}`} role="status" data-testid="kf-message">
            <span>{c.message.text}</span>
            {(c.message.problems ?? []).map((p, i) => (
              <div key={i} className="jp-kf-hint">
                {p.message}
              </div>
            ))}
            <button className="jp-kf-link" aria-label="Dismiss message" onClick={() => c.dismissMessage()}>
              dismiss
            </button>
          </div>
        )}
      </header>
      <Section title="Active cell" testid="kf-section-cell">
        {activeCell && role ? (
          <CellEditor
            key={activeCell.model.id}
            model={state.model}
            cellIndex={activeIndex}
            role={role}
            tags={tagsOf(activeCell.model)}
            setRole={r => state.setRole(activeIndex, r)}
            selectCell={i => void c.selectCell(i)}
          />
        ) : (
          <div className="jp-kf-empty">No active cell.</div>
        )}
      </Section>
      <Section title="Graph" testid="kf-section-graph">
        {compiled ? (
          <PipelineGraph
            graph={compiled.graph}
            statuses={statuses}
            stale={!state.upToDate}
            onSelect={cell => void c.selectCell(cell)}
          />
        ) : (
          <div className="jp-kf-empty">{state.compiling ? 'Compiling…' : 'Not compiled yet.'}</div>
        )}
      </Section>
      <Section title={`Problems${problems.length ? ` (${problems.length})` : ''}`} testid="kf-section-problems">
        <ProblemsList problems={problems} onSelectCell={i => void c.selectCell(i)} />
      </Section>
      <Section title="Run" testid="kf-section-run">
        <RunForm
          key={state.path}
          backends={c.backends}
          backendsError={c.backendsError}
          defaultBackend={c.settings.defaultBackend}
          defaultCache={c.settings.cacheDefault}
          parameters={compiled?.pipeline.parameters ?? []}
          canRun={!!compiled && errors === 0}
          why={why}
          starting={c.starting}
          onRun={options => void c.run(options)}
        />
      </Section>
      <Section title="Schedules" testid="kf-section-schedules" defaultOpen={false}>
        <SchedulesSection
          key={state.path}
          settings={c.api.settings}
          notebook={state.path}
          parameters={compiled?.pipeline.parameters ?? []}
          backends={c.backends}
          canSchedule={!!compiled && errors === 0}
          why={why}
          onNewRun={() => void c.refreshRuns()}
        />
      </Section>
      <Section title="Sweeps" testid="kf-section-sweeps" defaultOpen={false}>
        <SweepsSection
          key={state.path}
          settings={c.api.settings}
          notebook={state.path}
          parameters={compiled?.pipeline.parameters ?? []}
          metrics={((compiled?.pipeline as any)?.metrics ?? []).map((m: { name: string }) => m.name)}
          canSweep={!!compiled && errors === 0}
          why={why}
        />
      </Section>
      <Section
        title="Runs"
        testid="kf-section-runs"
        extra={
          <button className="jp-kf-link" aria-label="Refresh runs" data-testid="kf-runs-refresh" onClick={() => void c.refreshRuns()}>
            refresh
          </button>
        }
      >
        <RunsList
          runs={c.runs}
          selected={run}
          error={c.runsError}
          log={c.log}
          logError={c.logError}
          logFor={c.logFor}
          onSelect={id => c.selectRun(id)}
          onCancel={id => void c.cancel(id)}
          onRetry={id => void c.retry(id)}
          onLog={(id, step) => void c.showLog(id, step)}
          onCloseLog={() => c.closeLog()}
          onOpenNotebook={(id, step) => void c.openStepNotebook(id, step)}
          onSelectCell={i => void c.selectCell(i)}
          onRefresh={() => void c.refreshRuns()}
        />
      </Section>
      <Section title="Store" testid="kf-section-store" defaultOpen={false}>
        <StoreSection key={state.path} notebook={state.path} />
      </Section>
      <Section title="Steps" testid="kf-section-steps">
        <StepsList model={state.model} compiled={compiled} onSelect={i => void c.selectCell(i)} />
      </Section>
    </div>
  );
}
