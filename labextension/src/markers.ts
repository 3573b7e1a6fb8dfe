/**
 * Cell markers: each cell node gets the class `jp-kf-cell`, `data-kf-block` (imports, functions,
 * parameters, metrics, skip, step), `data-kf-step` (the step name), `data-kf-label` (shown by
 * CSS) and `data-kf-color` (palette index, colours in style/base.css from theme variables).
 */
import { Notebook } from '@jupyterlab/notebook';

import { cellLabel, NotebookModel, stepColorIndex } from './model';

const ATTRS = ['kfBlock', 'kfStep', 'kfLabel', 'kfColor', 'kfOpens'] as const;

/** What a cell's marker shows. */
export interface CellMarker {
  block: string;
  step: string;
  label: string;
  opens: boolean;
  /** Palette index of a step's colour, 'none' for the other blocks. */
  color: string;
  title: string;
}

/**
 * The marker of cell `i`, or null when it gets none: cells outside any block, and documentation
 * (markdown, raw) above the first step's first code cell, such as a notebook's title. The
 * converter carries those cells into the first step's notebook, but a step marker on a title
 * reads as if the title were part of that step.
 */
export function markerOf(model: NotebookModel, i: number): CellMarker | null {
  const a = model.cells[i];
  if (!a || !a.block) {
    return null;
  }
  const first = model.steps[0];
  if (a.cellType !== 'code' && first && a.step === first.name && i < first.firstCell) {
    return null;
  }
  const label = cellLabel(a);
  // A step's first marked cell shows its name plainly; the cells after it say they continue it.
  const shownFirst = a.opens || i === 0 || (first && a.step === first.name && i === first.firstCell);
  const color = a.block === 'step' ? stepColorIndex(model, a.step) : -1;
  return {
    block: a.block,
    step: a.step ?? '',
    label: shownFirst ? label : `${label} …`,
    opens: a.opens,
    color: color >= 0 ? String(color) : 'none',
    title: a.block === 'step' ? `pipeline step: ${a.step}` : `pipeline: ${label}`
  };
}

export function applyMarkers(notebook: Notebook, model: NotebookModel): void {
  notebook.widgets.forEach((cell, i) => {
    const node = cell.node;
    const m = markerOf(model, i);
    if (!m) {
      unmark(node);
      return;
    }
    node.classList.add('jp-kf-cell');
    setData(node, 'kfBlock', m.block);
    setData(node, 'kfStep', m.step);
    setData(node, 'kfLabel', m.label);
    setData(node, 'kfOpens', m.opens ? 'true' : 'false');
    setData(node, 'kfColor', m.color);
    node.title = m.title;
  });
}

export function clearMarkers(notebook: Notebook): void {
  notebook.widgets.forEach(cell => unmark(cell.node));
}

function setData(node: HTMLElement, key: (typeof ATTRS)[number], value: string): void {
  if (node.dataset[key] !== value) {
    node.dataset[key] = value;
  }
}

function unmark(node: HTMLElement): void {
  if (!node.classList.contains('jp-kf-cell')) {
    return;
  }
  node.classList.remove('jp-kf-cell');
  for (const key of ATTRS) {
    delete node.dataset[key];
  }
  node.removeAttribute('title');
}
