/**
 * App-level state behind the panel: the current notebook, the backends, the notebook's runs
 * (polled while one is active), the selected run and step log, and the actions the panel and
 * the commands share (run, cancel, retry, open a step's notebook, select a cell).
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel, INotebookTracker } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, KfApi } from './api';
import { NotebookState } from './notebookState';
import { BackendInfo, isFinished, Run, StepLog } from './types';

export interface KfSettings {
  defaultBackend: string;
  cacheDefault: boolean;
  autoCompileDelay: number;
  pollInterval: number;
}

/** Seconds the server may hold a long-polling request (it allows up to 30). */
const WATCH_WAIT_S = 20;

export const DEFAULT_SETTINGS: KfSettings = {
  defaultBackend: 'local',
  cacheDefault: true,
  autoCompileDelay: 500,
  pollInterval: 1000
};

/** Opens a path in JupyterLab (docmanager:open), given by the plugin. */
export type Opener = (path: string) => Promise<unknown>;

export class KfController {
  constructor(
    readonly api: KfApi,
    readonly tracker: INotebookTracker,
    private readonly open: Opener
  ) {
    tracker.widgetAdded.connect((_, panel) => this.track(panel));
    tracker.forEach(panel => this.track(panel));
    tracker.currentChanged.connect(() => this.onCurrentChanged());
    tracker.activeCellChanged.connect(() => this._changed.emit());
    this.onCurrentChanged();
  }

  settings: KfSettings = { ...DEFAULT_SETTINGS };
  backends: BackendInfo[] = [];
  backendsError: string | null = null;
  runs: Run[] = [];
  runsError: string | null = null;
  /** The run shown on the graph and expanded in the list (default: the newest). */
  selectedRunId: string | null = null;
  /** The step log shown under the runs list. */
  log: StepLog | null = null;
  logError: string | null = null;
  /** `run/step` of the log last asked for. */
  logFor: string | null = null;
  /** Last message of an action (run start refused, cancel failed...), shown in the panel; one about a
   * run (`runId`) goes away when that run ends. */
  message: { kind: 'error' | 'info'; text: string; problems?: ApiError['problems']; runId?: string } | null = null;
  starting = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The state of the notebook the panel shows (the current notebook), if any. */
  get current(): NotebookState | null {
    const panel = this.tracker.currentWidget;
    return panel ? (this._states.get(panel) ?? null) : null;
  }

  get selectedRun(): Run | null {
    if (this.selectedRunId) {
      const run = this.runs.find(r => r.id === this.selectedRunId);
      if (run) {
        return run;
      }
    }
    return this.runs[0] ?? null;
  }

  set panelVisible(value: boolean) {
    this._panelVisible = value;
    const state = this.current;
    if (state) {
      state.active = value;
    }
    this.ensureWatching();
  }

  updateSettings(settings: Partial<KfSettings>): void {
    this.settings = { ...this.settings, ...settings };
    this._changed.emit();
  }

  async loadBackends(): Promise<void> {
    try {
      this.backends = await this.api.backends();
      this.backendsError = null;
    } catch (error) {
      this.backendsError = (error as Error).message;
    }
    this._changed.emit();
  }

  async refreshRuns(): Promise<void> {
    const state = this.current;
    if (!state) {
      this.runs = [];
      this._changed.emit();
      return;
    }
    const path = state.path;
    try {
      const data = await this.api.listRuns(path);
      if (this.current?.path !== path) {
        return; // the user switched notebooks meanwhile
      }
      for (const run of data.runs) {
        if (!this._seenStatus.has(run.id)) {
          this._seenStatus.set(run.id, run.status);
        }
      }
      data.runs.forEach(run => this.upsert(run));
      this.runs = this.runs.filter(r => data.runs.some(x => x.id === r.id));
      this.sortRuns();
      this._cursor = data.cursor;
      this.runsError = null;
    } catch (error) {
      this.runsError = (error as Error).message;
    }
    this.ensureWatching();
    this._changed.emit();
  }

  /** Save the notebook, then start a run of it. */
  async run(options: { backend: string; parameters: Record<string, unknown>; cache: boolean }): Promise<Run | null> {
    const state = this.current;
    if (!state || this.starting) {
      return null;
    }
    const step = state.stepNotebook;
    if (step) {
      this.message = { kind: 'error', text: `${state.path} is an executed step notebook, not a pipeline: run ${step.pipeline}'s notebook.` };
      this._changed.emit();
      return null;
    }
    this.starting = true;
    this.message = null;
    this._changed.emit();
    try {
      await state.panel.context.save();
      const run = await this.api.startRun({
        notebook: state.path,
        backend: options.backend,
        parameters: options.parameters,
        cache: options.cache
      });
      this.adopt(run);
      this.message = { kind: 'info', text: `Run ${run.id} started on ${run.backend}.`, runId: run.id };
      return run;
    } catch (error) {
      this.reportError('Run not started', error);
      return null;
    } finally {
      this.starting = false;
      this._changed.emit();
    }
  }

  async cancel(id: string): Promise<void> {
    try {
      this.upsert(await this.api.cancelRun(id));
    } catch (error) {
      this.reportError(`Cancel of ${id} failed`, error);
    }
    this._changed.emit();
  }

  async retry(id: string): Promise<void> {
    try {
      const run = await this.api.retryRun(id);
      this.adopt(run);
      this.message = { kind: 'info', text: `Retry ${run.id} of ${id} started.`, runId: run.id };
    } catch (error) {
      this.reportError(`Retry of ${id} failed`, error);
    }
    this._changed.emit();
  }

  selectRun(id: string | null): void {
    this.selectedRunId = id;
    this._changed.emit();
  }

  async showLog(id: string, step: string): Promise<void> {
    this.logFor = `${id}/${step}`;
    try {
      this.log = await this.api.stepLog(id, step);
      this.logError = null;
    } catch (error) {
      this.log = null;
      this.logError = `Log of ${step}: ${(error as Error).message}`;
    }
    this._changed.emit();
  }

  closeLog(): void {
    this.logFor = null;
    this.log = null;
    this.logError = null;
    this._changed.emit();
  }

  /** Open a step's executed notebook in JupyterLab (one click from the runs list), without a kernel:
   * it is a record; starting a kernel on it is the user's choice (the notebook's kernel menu). */
  async openStepNotebook(id: string, step: string): Promise<void> {
    try {
      const path =
        this.runs.find(r => r.id === id)?.steps.find(s => s.name === step)?.notebook ??
        (await this.api.stepNotebook(id, step)).path;
      if (!path) {
        throw new Error('the run store is outside the server root, so the notebook cannot be opened here');
      }
      await this.open(path);
    } catch (error) {
      this.reportError(`Cannot open the notebook of step ${step}`, error);
      this._changed.emit();
    }
  }

  /** Make a cell of the current notebook active and scroll to it. */
  async selectCell(index: number | null | undefined): Promise<void> {
    const state = this.current;
    if (!state || index === null || index === undefined) {
      return;
    }
    const notebook = state.panel.content;
    if (index < 0 || index >= notebook.widgets.length) {
      return;
    }
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    await notebook.scrollToCell(notebook.widgets[index], 'center');
  }

  dismissMessage(): void {
    this.message = null;
    this._changed.emit();
  }

  dispose(): void {
    this.stopWatching();
    if (this._ticker !== null) {
      clearInterval(this._ticker);
    }
    this._states.forEach(s => s.dispose());
    Signal.clearData(this);
  }

  private track(panel: NotebookPanel): void {
    if (this._states.has(panel)) {
      return;
    }
    const state = new NotebookState(panel, this.api, () => this.settings.autoCompileDelay);
    this._states.set(panel, state);
    state.changed.connect(() => {
      if (state === this.current) {
        this._changed.emit();
      }
    });
    panel.disposed.connect(() => {
      state.dispose();
      this._states.delete(panel);
    });
    // Renamed or moved: its runs are those of the new path (the state recompiles by itself).
    panel.context.pathChanged.connect(() => {
      if (state === this.current) {
        this.onCurrentChanged();
      }
    });
    // A new notebook (File > New, the launcher) can become the tracker's current widget before
    // `widgetAdded` brings it here: the panel must follow it now, not on the next tab switch.
    if (panel === this.tracker.currentWidget) {
      this.onCurrentChanged();
    }
  }

  private onCurrentChanged(): void {
    this._states.forEach(s => (s.active = false));
    const state = this.current;
    if (state) {
      state.active = this._panelVisible;
    }
    this.stopWatching();
    this._cursor = null;
    this.runs = [];
    this.selectedRunId = null;
    this.log = null;
    this.message = null;
    this._changed.emit();
    if (state) {
      void state.panel.context.ready.then(() => this.refreshRuns());
    }
  }

  private adopt(run: Run): void {
    this.upsert(run);
    this.selectedRunId = run.id;
    if (this._cursor === null) {
      void this.refreshRuns(); // no watch cursor yet (runs never listed): list first, then watch
    } else {
      this.ensureWatching();
    }
  }

  private upsert(run: Run): void {
    const i = this.runs.findIndex(r => r.id === run.id);
    if (i >= 0) {
      this.runs[i] = run;
    } else {
      this.runs = [run, ...this.runs];
    }
    this.notifyIfFinished(run);
  }

  private notifyIfFinished(run: Run): void {
    const before = this._seenStatus.get(run.id);
    this._seenStatus.set(run.id, run.status);
    if (isFinished(run) && this.message?.runId === run.id && this.message.kind === 'info') {
      this.message = null; // "Run … started" no longer holds
    }
    if (before === undefined || before === run.status || !isFinished(run)) {
      return;
    }
    const what = `Pipeline run ${run.id} (${run.pipeline})`;
    if (run.status === 'succeeded') {
      Notification.success(`${what} succeeded.`, { autoClose: 5000 });
    } else if (run.status === 'failed') {
      const failed = run.steps.filter(s => s.status === 'failed').map(s => s.name);
      Notification.error(
        `${what} failed${failed.length ? ` in ${failed.join(', ')}` : ''}${run.error ? `: ${run.error}` : ''}.`,
        { autoClose: false }
      );
    } else {
      Notification.warning(`${what} ${run.status}.`, { autoClose: 5000 });
    }
  }

  private sortRuns(): void {
    this.runs.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  /**
   * Keep the runs live with the API's long polling (`GET runs?since=CURSOR&wait=S`): one request
   * held by the server until a run of this notebook changes. It runs while the panel is shown or
   * a run is active (so the end-of-run notification comes even with the panel closed).
   */
  private ensureWatching(): void {
    this.updateTicker();
    const state = this.current;
    if (this._watching || !state || this._cursor === null || !this.wantWatch()) {
      return;
    }
    this._watching = true;
    const gen = this._watchGen;
    const path = state.path;
    void (async () => {
      try {
        while (gen === this._watchGen && this.wantWatch()) {
          const abort = new AbortController();
          this._abort = abort;
          try {
            const data = await this.api.watchRuns(path, this._cursor!, WATCH_WAIT_S, abort.signal);
            if (gen !== this._watchGen) {
              break;
            }
            this._cursor = data.cursor;
            if (data.runs.length) {
              data.runs.forEach(run => this.upsert(run));
              this.sortRuns();
              this.updateTicker();
              this._changed.emit();
            }
          } catch (error) {
            if (gen !== this._watchGen) {
              break;
            }
            if (error instanceof ApiError && error.status === 400) {
              this._cursor = (await this.api.listRuns(path).catch(() => null))?.cursor ?? this._cursor;
            }
            await new Promise(resolve => setTimeout(resolve, this.settings.pollInterval * 3));
          }
        }
      } finally {
        this._watching = false;
        if (gen !== this._watchGen) {
          this.ensureWatching(); // a newer notebook or restart asked for a watch meanwhile
        }
      }
    })();
  }

  /** While a run is active and the panel shown, re-render every second (running durations). */
  private updateTicker(): void {
    const want = this._panelVisible && this.runs.some(r => !isFinished(r));
    if (want && this._ticker === null) {
      this._ticker = setInterval(() => {
        this._changed.emit();
        this.updateTicker();
      }, 1000);
    } else if (!want && this._ticker !== null) {
      clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  private wantWatch(): boolean {
    return this._panelVisible || this.runs.some(r => !isFinished(r));
  }

  private stopWatching(): void {
    this._watchGen++;
    this._abort?.abort();
    this._abort = null;
  }

  private reportError(what: string, error: unknown): void {
    const e = error as ApiError;
    this.message = { kind: 'error', text: `${what}: ${e.message ?? String(error)}`, problems: e.problems ?? [] };
  }

  private _changed = new Signal<this, void>(this);
  private _states = new Map<NotebookPanel, NotebookState>();
  private _seenStatus = new Map<string, string>();
  private _cursor: string | null = null;
  private _watchGen = 0;
  private _watching = false;
  private _abort: AbortController | null = null;
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _panelVisible = false;
}
