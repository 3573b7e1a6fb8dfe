import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-kf:plugin',
  description: 'Pipeline panel for notebooks.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd) => {
    console.log('jupyter-kf activated');
  }
};

export default plugin;
