/**
 * jupyter-kf JupyterLab plugin: the pipeline side panel, the cell markers and the commands.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { KfApi } from './api';
import { suggestStepName } from './cellEditor';
import { DEFAULT_SETTINGS, KfController, KfSettings } from './controller';
import { PipelinePanel } from './panel';
import { addReuseCommands } from './reuse';
import { ScheduleApi } from './scheduleApi';
import { ScheduleWatcher } from './scheduleWatcher';
import { emptyRole, validateStepName } from './tags';

const PLUGIN_ID = 'jupyter-kf:plugin';

export namespace CommandIDs {
  export const openPanel = 'jupyter-kf:open-panel';
  export const run = 'jupyter-kf:run';
  export const compile = 'jupyter-kf:compile';
  export const tagStep = 'jupyter-kf:tag-step';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Tag notebook cells as pipeline steps, see the pipeline graph, run and watch it.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new KfApi();
    // Records (executed step notebooks) open without a kernel; the user can start one from the
    // notebook's kernel menu.
    const controller = new KfController(api, tracker, path =>
      app.commands.execute('docmanager:open', {
        path,
        factory: 'Notebook',
        kernelPreference: { shouldStart: false, autoStartDefault: false }
      })
    );
    const panel = new PipelinePanel(controller);
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'jupyter-kf-panel');
    void controller.loadBackends();
    new ScheduleWatcher(new ScheduleApi(api.settings), () => controller.current?.path ?? null).start();

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => controller.updateSettings(settings.composite as unknown as Partial<KfSettings>);
          settings.changed.connect(apply);
          apply();
        })
        .catch(reason => console.warn('jupyter-kf: settings not loaded, using defaults', reason, DEFAULT_SETTINGS));
    }

    const hasNotebook = () => controller.current !== null;
    // An executed step notebook is a step's record, not a pipeline: no compile, no run.
    const hasPipeline = () => hasNotebook() && !controller.current?.stepNotebook;
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Pipeline: Open Panel',
      caption: 'Show the pipeline panel of the current notebook',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.compile, {
      label: 'Pipeline: Compile Notebook',
      caption: 'Compile the current notebook into a pipeline now',
      isEnabled: hasPipeline,
      execute: async () => {
        app.shell.activateById(panel.id);
        await controller.current?.compile();
      }
    });
    app.commands.addCommand(CommandIDs.run, {
      label: 'Pipeline: Run Notebook',
      caption: 'Save the current notebook and run it as a pipeline (default backend and cache)',
      isEnabled: hasPipeline,
      execute: async () => {
        app.shell.activateById(panel.id);
        const state = controller.current;
        if (!state) {
          return;
        }
        const step = state.stepNotebook;
        if (step) {
          Notification.warning(
            `${state.path} is step ${step.step} of pipeline ${step.pipeline} (an executed step notebook): run the pipeline's notebook instead.`,
            { autoClose: 5000 }
          );
          return;
        }
        const result = await state.compile();
        if (!result) {
          Notification.error(`Cannot compile ${state.path}: ${state.compileError ?? 'unknown error'}`);
          return;
        }
        if (!result.valid) {
          Notification.error(`The pipeline has problems; see the panel.`, { autoClose: 5000 });
          return;
        }
        const usable = controller.backends.filter(b => b.available && b.configured).map(b => b.name);
        const backend = usable.includes(controller.settings.defaultBackend) ? controller.settings.defaultBackend : 'local';
        await controller.run({ backend, parameters: {}, cache: controller.settings.cacheDefault });
      }
    });
    app.commands.addCommand(CommandIDs.tagStep, {
      label: 'Pipeline: Tag Cell as Step…',
      caption: 'Make the active cell the start of a pipeline step (writes a step:<name> tag)',
      isEnabled: () => hasNotebook() && !!tracker.activeCell,
      execute: async () => {
        const state = controller.current;
        const notebook = state?.panel.content;
        if (!state || !notebook || !notebook.activeCell) {
          return;
        }
        const index = notebook.activeCellIndex;
        const current = state.roleOf(index) ?? emptyRole();
        let suggestion = current.kind === 'step' && current.name ? current.name : suggestStepName(state.model);
        for (;;) {
          const answer = await InputDialog.getText({ title: 'Step name', text: suggestion, label: 'Name (a-z, 0-9, -)' });
          if (!answer.button.accept || answer.value === null) {
            return;
          }
          const error = validateStepName(answer.value);
          if (!error) {
            const base = current.kind === 'step' ? current : emptyRole('step');
            state.setRole(index, { ...base, kind: 'step', name: answer.value.trim() });
            return;
          }
          Notification.warning(error, { autoClose: 5000 });
          suggestion = answer.value;
        }
      }
    });
    if (palette) {
      for (const command of [CommandIDs.openPanel, CommandIDs.compile, CommandIDs.run, CommandIDs.tagStep]) {
        palette.addItem({ command, category: 'Pipeline' });
      }
    }
    app.contextMenu.addItem({ command: CommandIDs.tagStep, selector: '.jp-Notebook .jp-Cell', rank: 20 });
    addReuseCommands(app, tracker, api, controller);
  }
};

export default plugin;
