/**
 * Reusing a past run from the panel: "Load into kernel" (`%kf_load RUN STEP` in the notebook's
 * own kernel) and "Run from here" (POST runs with `from_step`, upstream values from that run) on
 * a step row of a run (context menu on `.jp-kf-run-step`), and "Compare with the previous run"
 * on a run (GET runs/{a}/diff/{b}, shown in the main area).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { KfApi } from './api';
import { KfController } from './controller';
import { diffText, kfLoadCode, previousRun, runFromHereRequest, StepTarget, stepTarget } from './reuseLogic';

export namespace ReuseCommandIDs {
  export const loadIntoKernel = 'jupyter-kf:load-into-kernel';
  export const runFromHere = 'jupyter-kf:run-from-here';
  export const compareWithPrevious = 'jupyter-kf:compare-with-previous-run';
}

export function addReuseCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  api: KfApi,
  controller: KfController
): void {
  const target = (): StepTarget | null => stepTarget(app.contextMenuHitTest(n => n.dataset?.step !== undefined) ?? null);

  app.commands.addCommand(ReuseCommandIDs.loadIntoKernel, {
    label: 'Load into kernel',
    caption: "Load the values this step saw into the notebook's kernel (%kf_load)",
    isEnabled: () => target() !== null && !!tracker.currentWidget?.sessionContext.session?.kernel,
    execute: async () => {
      const t = target();
      const kernel = tracker.currentWidget?.sessionContext.session?.kernel;
      if (!t || !kernel) {
        return;
      }
      let text = '';
      const future = kernel.requestExecute({ code: kfLoadCode(t), store_history: false });
      future.onIOPub = msg => {
        const content = msg.content as { text?: string; evalue?: string };
        text += content.text ?? content.evalue ?? '';
      };
      const reply = await future.done;
      if (reply.content.status === 'ok' && !text.includes('UsageError')) {
        Notification.success(`Loaded from ${t.step} of ${t.run}:\n${text}`, { autoClose: 8000 });
      } else {
        Notification.error(`Could not load ${t.step} of ${t.run}: ${text}`, { autoClose: false });
      }
    }
  });

  app.commands.addCommand(ReuseCommandIDs.runFromHere, {
    label: 'Run from here',
    caption: 'Run this step and everything downstream; upstream values from this run',
    isEnabled: () => target() !== null && controller.current !== null,
    execute: async () => {
      const t = target();
      const state = controller.current;
      if (!t || !state) {
        return;
      }
      try {
        await state.panel.context.save();
        const run = await api.startRun(runFromHereRequest(state.path, t));
        Notification.info(`Run ${run.id} started from step ${t.step}.`, { autoClose: 5000 });
        await controller.refreshRuns();
      } catch (error) {
        Notification.error(`Run from ${t.step} not started: ${(error as Error).message}`, { autoClose: false });
      }
    }
  });

  const clickedRun = (): string | null => {
    const node = app.contextMenuHitTest(n => n.dataset?.runId !== undefined);
    return node?.dataset.runId ?? null;
  };
  app.commands.addCommand(ReuseCommandIDs.compareWithPrevious, {
    label: 'Compare with the previous run',
    caption: 'Parameters, metrics, step code, data files and environment that differ',
    isEnabled: () => {
      const run = clickedRun();
      return run !== null && previousRun(controller.runs.map(r => r.id), run) !== null;
    },
    execute: async () => {
      const run = clickedRun();
      const before = run ? previousRun(controller.runs.map(r => r.id), run) : null;
      if (!run || !before) {
        return;
      }
      try {
        const diff = await api.diffRuns(before, run);
        const pre = document.createElement('pre');
        pre.className = 'jp-kf-run-diff';
        pre.dataset.testid = 'kf-run-diff';
        pre.textContent = diffText(diff);
        const content = new Widget({ node: pre });
        const widget = new MainAreaWidget({ content });
        widget.title.label = `${before} → ${run}`;
        app.shell.add(widget, 'main');
      } catch (error) {
        Notification.error(`Cannot compare ${before} and ${run}: ${(error as Error).message}`, { autoClose: false });
      }
    }
  });

  app.contextMenu.addItem({ command: ReuseCommandIDs.compareWithPrevious, selector: '.jp-kf-run', rank: 12 });
  app.contextMenu.addItem({ command: ReuseCommandIDs.loadIntoKernel, selector: '.jp-kf-run-step', rank: 10 });
  app.contextMenu.addItem({ command: ReuseCommandIDs.runFromHere, selector: '.jp-kf-run-step', rank: 11 });
}
