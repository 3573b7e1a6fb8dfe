/**
 * Per-notebook state: the cells' roles derived from their tags (updated on every change, used
 * for the cell markers and the editor) and the compiled pipeline (debounced POST compile).
 * An executed step notebook (one a run wrote) is never compiled: it is a step's record.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ICellModel } from '@jupyterlab/cells';
import { ISignal, Signal } from '@lumino/signaling';

import { KfApi } from './api';
import { applyMarkers, clearMarkers } from './markers';
import { CellInput, deriveModel, NotebookModel, pipelineName, StepNotebookInfo, stepNotebookInfo } from './model';
import { applyRole, CellRole, parseTags, sameTags } from './tags';
import { CompileResult } from './types';

export class NotebookState {
  constructor(
    readonly panel: NotebookPanel,
    private readonly api: KfApi,
    private readonly delay: () => number
  ) {
    this.model = this.derive();
    panel.context.ready.then(() => {
      if (this._disposed) {
        return;
      }
      panel.model?.contentChanged.connect(this.onContentChanged, this);
      this.onContentChanged();
    });
    panel.content.modelContentChanged.connect(this.refreshMarkers, this);
    panel.context.pathChanged.connect(this.onPathChanged, this);
  }

  /** Cells -> blocks and steps, from the tags alone. */
  model: NotebookModel;
  compileResult: CompileResult | null = null;
  compileError: string | null = null;
  compiling = false;
  /** False while the graph is older than the notebook (a compile is pending). */
  upToDate = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get path(): string {
    return this.panel.context.path;
  }

  /** Set when this is an executed step notebook (its metadata names its pipeline and step). */
  get stepNotebook(): StepNotebookInfo | null {
    return stepNotebookInfo((this.panel.model?.metadata ?? {}) as Record<string, any>, this.path);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether automatic compiling is wanted (the panel shows this notebook). */
  set active(value: boolean) {
    this._active = value;
    if (value && (!this.compileResult || (!this.upToDate && this.delay() > 0))) {
      this.scheduleCompile(0);
    }
  }

  cellInputs(): CellInput[] {
    const cells = this.panel.model?.cells;
    const out: CellInput[] = [];
    if (!cells) {
      return out;
    }
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      out.push({ cellType: c.type, source: c.sharedModel.getSource(), tags: tagsOf(c) });
    }
    return out;
  }

  /**
   * Write a role into a cell's tags (keeping unrelated tags). Renaming a step also renames the
   * `prev:` tags that named it, when no other cell still opens a step of the old name.
   */
  setRole(index: number, role: CellRole): void {
    const model = this.panel.model;
    if (!model || index < 0 || index >= model.cells.length) {
      return;
    }
    const cells = Array.from({ length: model.cells.length }, (_, i) => model.cells.get(i));
    const after = applyRole(cells.map(tagsOf), index, role);
    model.sharedModel.transact(() => cells.forEach((c, i) => writeTags(c, after[i])));
  }

  roleOf(index: number): CellRole | null {
    const cell = this.panel.model?.cells.get(index);
    return cell ? parseTags(tagsOf(cell)).role : null;
  }

  /** Compile now (the Compile command), by path when the notebook is saved, else its content. */
  async compile(): Promise<CompileResult | null> {
    if (this._timer) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (this.stepNotebook) {
      return null; // not a pipeline: compiling it would make a one-step pipeline of generated code
    }
    const signature = this._signature;
    this.compiling = true;
    this._changed.emit();
    try {
      const source =
        this.panel.context.model.dirty || !this.panel.context.path
          ? { content: this.notebookJSON() }
          : { notebook: this.panel.context.path };
      const result = await this.api.compile(source);
      if (this._disposed) {
        return null;
      }
      this.compileResult = result;
      this.compileError = null;
      this.upToDate = signature === this._signature;
      return result;
    } catch (error) {
      this.compileError = (error as Error).message ?? String(error);
      return null;
    } finally {
      this.compiling = false;
      if (!this._disposed) {
        this._changed.emit();
      }
    }
  }

  /** The notebook as nbformat JSON without outputs (all the converter reads). */
  notebookJSON(): Record<string, unknown> {
    const model = this.panel.model;
    const cells = [];
    if (model) {
      for (let i = 0; i < model.cells.length; i++) {
        const c = model.cells.get(i);
        const tags = tagsOf(c);
        const cell: Record<string, unknown> = {
          cell_type: c.type,
          source: c.sharedModel.getSource(),
          metadata: tags.length ? { tags } : {}
        };
        if (c.type === 'code') {
          cell.outputs = [];
          cell.execution_count = null;
        }
        cells.push(cell);
      }
    }
    // Unsaved JSON carries no file name: give the converter the name it would derive from the
    // path, so steps of an untagged notebook are named as in a run (unless the metadata names it).
    const metadata = { ...((model?.metadata ?? {}) as Record<string, any>) };
    if (!metadata.jupyter_kf?.name && !metadata.kubeflow_notebook?.pipeline_name) {
      metadata.jupyter_kf = { ...(metadata.jupyter_kf ?? {}), name: pipelineName(this.path, metadata) };
    }
    return { nbformat: 4, nbformat_minor: 5, metadata, cells };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer) {
      clearTimeout(this._timer);
    }
    this.panel.model?.contentChanged.disconnect(this.onContentChanged, this);
    this.panel.content.modelContentChanged.disconnect(this.refreshMarkers, this);
    this.panel.context.pathChanged.disconnect(this.onPathChanged, this);
    if (!this.panel.isDisposed) {
      clearMarkers(this.panel.content);
    }
    Signal.clearData(this);
  }

  private derive(): NotebookModel {
    return deriveModel(this.cellInputs(), this.panel.context.path);
  }

  private onContentChanged(): void {
    // Outputs and execution counts also fire contentChanged: only sources, types and tags matter.
    const inputs = this.cellInputs();
    const signature = JSON.stringify(inputs);
    if (signature === this._signature) {
      return;
    }
    this._signature = signature;
    this.model = deriveModel(inputs, this.panel.context.path);
    this.upToDate = false;
    this.refreshMarkers();
    this._changed.emit();
    const delay = this.delay();
    if (delay > 0 || !this.compileResult) {
      this.scheduleCompile(delay); // a delay of 0 turns auto-compile off after the first compile
    }
  }

  /** Renamed or moved: the pipeline's name (and an untagged notebook's step) follow the path. */
  private onPathChanged(): void {
    this.model = this.derive();
    this.upToDate = false;
    this._changed.emit();
    this.scheduleCompile(0);
  }

  private refreshMarkers(): void {
    // Cells are (re)created on insert/move/type change: re-mark them (cheap, attribute writes).
    requestAnimationFrame(() => {
      if (this._disposed || this.panel.isDisposed) {
        return;
      }
      if (this.stepNotebook) {
        clearMarkers(this.panel.content);
      } else {
        applyMarkers(this.panel.content, this.model);
      }
    });
  }

  private scheduleCompile(delay: number): void {
    if (!this._active || this.stepNotebook) {
      return;
    }
    if (this._timer) {
      clearTimeout(this._timer);
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      void this.compile();
    }, Math.max(0, delay));
  }

  private _changed = new Signal<this, void>(this);
  private _disposed = false;
  private _active = false;
  private _signature = '';
  private _timer: ReturnType<typeof setTimeout> | null = null;
}

function writeTags(cell: ICellModel, tags: string[]): void {
  if (sameTags(tagsOf(cell), tags)) {
    return;
  }
  if (tags.length) {
    cell.setMetadata('tags', tags);
  } else {
    cell.deleteMetadata('tags');
  }
}

export function tagsOf(cell: ICellModel): string[] {
  const tags = cell.getMetadata('tags');
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}
