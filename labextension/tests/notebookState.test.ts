/**
 * NotebookState against a stand-in NotebookPanel (only what the state reads): when does it ask the
 * server to compile the notebook?
 */
import { Signal } from '@lumino/signaling';

import { KfApi } from '../src/api';
import { stepNotebookInfo } from '../src/model';
import { NotebookState } from '../src/notebookState';
import { CompileResult } from '../src/types';

(globalThis as any).requestAnimationFrame = (cb: () => void) => setTimeout(cb, 0);

function fakePanel(metadata: Record<string, unknown>, path: string): any {
  const cells = [{ type: 'code', source: 'x = 1', tags: ['step:load'] }].map(c => ({
    type: c.type,
    sharedModel: { getSource: () => c.source },
    getMetadata: (key: string) => (key === 'tags' ? c.tags : undefined)
  }));
  const model = {
    cells: { length: cells.length, get: (i: number) => cells[i] },
    metadata,
    contentChanged: new Signal<unknown, void>({})
  };
  return {
    isDisposed: false,
    model,
    content: { widgets: [], modelContentChanged: new Signal<unknown, void>({}) },
    context: { ready: Promise.resolve(), path, model: { dirty: false }, pathChanged: new Signal<unknown, string>({}) }
  };
}

function fakeApi(): { api: KfApi; compile: jest.Mock } {
  const compile = jest.fn(async (): Promise<CompileResult> => ({
    pipeline: {} as any,
    graph: { name: 'p', valid: true, layers: 1, nodes: [], edges: [] },
    problems: [],
    valid: true
  }));
  return { api: { compile } as unknown as KfApi, compile };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 20));

describe('NotebookState', () => {
  it('compiles a pipeline notebook when the panel shows it', async () => {
    const { api, compile } = fakeApi();
    const state = new NotebookState(fakePanel({ jupyter_kf: { name: 'demo' } }, 'demo.ipynb'), api, () => 1);
    state.active = true;
    await settle();
    expect(compile).toHaveBeenCalledTimes(1);
    expect(state.stepNotebook).toBeNull();
    expect(state.compileResult).not.toBeNull();
    state.dispose();
  });

  it('recompiles when the notebook is renamed (the pipeline is named after the file)', async () => {
    const { api, compile } = fakeApi();
    const panel = fakePanel({}, 'old.ipynb');
    const state = new NotebookState(panel, api, () => 1);
    state.active = true;
    await settle();
    expect(compile).toHaveBeenCalledTimes(1);
    panel.context.path = 'new.ipynb';
    panel.context.pathChanged.emit('new.ipynb');
    expect(state.upToDate).toBe(false);
    await settle();
    expect(compile).toHaveBeenCalledTimes(2);
    expect(compile.mock.calls[1]).toEqual([{ notebook: 'new.ipynb' }]);
    state.dispose();
  });

  it('never compiles an executed step notebook, which names its pipeline and step', async () => {
    const { api, compile } = fakeApi();
    const path = 'kf-runs/20260101-120000-abcd/steps/square.ipynb';
    const panel = fakePanel({ jupyter_kf: { pipeline: 'demo', step: 'square' } }, path);
    const state = new NotebookState(panel, api, () => 1);
    state.active = true;
    await settle();
    expect(state.stepNotebook).toEqual({ pipeline: 'demo', step: 'square', run: '20260101-120000-abcd' });
    expect(await state.compile()).toBeNull(); // also not on request (the Compile command)
    panel.model.contentChanged.emit(); // nor after an edit
    await settle();
    expect(compile).not.toHaveBeenCalled();
    expect(state.compileResult).toBeNull();
    state.dispose();
  });
});

describe('stepNotebookInfo', () => {
  it('reads emit\'s metadata and the run from a run folder path', () => {
    expect(stepNotebookInfo({ jupyter_kf: { pipeline: 'p', step: 's' } }, 'x/kf-runs/r1/steps/s.ipynb')).toEqual({
      pipeline: 'p',
      step: 's',
      run: 'r1'
    });
    expect(stepNotebookInfo({ jupyter_kf: { pipeline: 'p', step: 's' } }, 'copy.ipynb')?.run).toBeNull();
    // a pipeline notebook's own jupyter_kf metadata (name, image, cache) is not a step notebook's
    expect(stepNotebookInfo({ jupyter_kf: { name: 'p', image: 'python:3.11' } })).toBeNull();
    expect(stepNotebookInfo({ jupyter_kf: { step: '' } })).toBeNull();
    expect(stepNotebookInfo({})).toBeNull();
    expect(stepNotebookInfo(undefined)).toBeNull();
  });
});
