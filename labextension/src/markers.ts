/**
 * Cell markers: each cell node gets the class `jp-kf-cell`, `data-kf-block` (imports, functions,
 * parameters, metrics, skip, step), `data-kf-step` (the step name), `data-kf-label` (shown by
 * CSS) and `data-kf-color` (palette index, colours in style/base.css from theme variables).
 */
import { Notebook } from '@jupyterlab/notebook';

import { cellLabel, NotebookModel, stepColorIndex } from './model';

const ATTRS = ['kfBlock', 'kfStep', 'kfLabel', 'kfColor', 'kfOpens'] as const;

export function applyMarkers(notebook: Notebook, model: NotebookModel): void {
  notebook.widgets.forEach((cell, i) => {
    const node = cell.node;
    const a = model.cells[i];
    if (!a || !a.block) {
      unmark(node);
      return;
    }
    node.classList.add('jp-kf-cell');
    setData(node, 'kfBlock', a.block);
    setData(node, 'kfStep', a.step ?? '');
    const label = cellLabel(a);
    setData(node, 'kfLabel', a.opens || i === 0 ? label : `${label} …`);
    setData(node, 'kfOpens', a.opens ? 'true' : 'false');
    const color = a.block === 'step' ? stepColorIndex(model, a.step) : -1;
    setData(node, 'kfColor', color >= 0 ? String(color) : 'none');
    node.title = a.block === 'step' ? `pipeline step: ${a.step}` : `pipeline: ${label}`;
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
