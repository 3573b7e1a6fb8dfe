import { cellLabel, deriveModel, earlierSteps, leadingKind, notebookStepName, CellInput } from '../src/model';

const code = (source: string, ...tags: string[]): CellInput => ({ cellType: 'code', source, tags });
const md = (source: string): CellInput => ({ cellType: 'markdown', source, tags: [] });

describe('deriveModel', () => {
  it('puts untagged cells in the block above', () => {
    const m = deriveModel([
      code('import numpy as np', 'imports'),
      code('import pandas as pd'),
      code('a = 1', 'pipeline-parameters'),
      code('x = np.arange(a)', 'step:load'),
      code('y = x * 2'),
      code('z = y.sum()', 'step:train', 'prev:load'),
      code('print(z)', 'skip'),
      code('print(1)')
    ]);
    expect(m.cells.map(c => c.block)).toEqual(['imports', 'imports', 'parameters', 'step', 'step', 'step', 'skip', 'skip']);
    expect(m.cells.map(c => c.step)).toEqual([null, null, null, 'load', 'load', 'train', null, null]);
    expect(m.steps.map(s => [s.name, s.cells, s.firstCell, s.prev])).toEqual([
      ['load', [3, 4], 3, []],
      ['train', [5], 5, ['load']]
    ]);
    expect(m.cells.map(c => c.opens)).toEqual([true, false, true, true, false, true, true, false]);
  });

  it('makes an untagged notebook one step named after the file', () => {
    const m = deriveModel([md('# Title'), code('x = 1'), code('print(x)')], 'work/My Analysis.ipynb');
    expect(m.tagged).toBe(false);
    expect(m.steps).toHaveLength(1);
    expect(m.steps[0].name).toBe('my-analysis');
    expect(m.steps[0].cells).toEqual([0, 1, 2]);
    expect(m.steps[0].firstCell).toBe(1);
  });

  it('classifies untagged leading cells like the converter', () => {
    const m = deriveModel([
      code('import os\nfrom x import (\n  a,\n)'),
      code('def f():\n    return 1'),
      code('data = f()'),
      code('more = 2'),
      code('y = data', 'step:use')
    ]);
    expect(m.cells.map(c => c.block)).toEqual(['imports', 'functions', 'step', 'step', 'step']);
    expect(m.steps.map(s => s.name)).toEqual(['setup', 'use']);
    expect(m.steps[0].implicit).toBe(true);
  });

  it('keeps markdown with the step it introduces, and trailing docs with the last step', () => {
    const m = deriveModel([
      code('import os', 'imports'),
      md('## Load'),
      code('x = 1', 'step:load'),
      md('notes on load'),
      code('y = 2', 'step:two'),
      code('print(y)', 'skip'),
      md('the end')
    ]);
    expect(m.cells.map(c => c.step)).toEqual([null, 'load', 'load', 'load', 'two', null, 'two']);
  });

  it('joins a step interrupted by skip cells, and renames a true duplicate', () => {
    const m = deriveModel([
      code('a = 1', 'step:a'),
      code('print(a)', 'skip'),
      code('b = a', 'step:a'),
      code('c = 1', 'step:c'),
      code('d = 1', 'step:a')
    ]);
    expect(m.steps.map(s => [s.name, s.cells])).toEqual([
      ['a', [0, 2]],
      ['c', [3]],
      ['a-2', [4]]
    ]);
  });

  it('normalizes step names as the converter does', () => {
    const m = deriveModel([code('x = 1', 'step:Load_Data'), code('y = x', 'step:train', 'prev:Load_Data')]);
    expect(m.steps.map(s => s.name)).toEqual(['load-data', 'train']);
    expect(m.steps[1].prev).toEqual(['load-data']);
  });

  it('lists earlier steps for the depends-on choice', () => {
    const m = deriveModel([
      code('a = 1', 'step:a'),
      code('b = 1', 'step:b'),
      code('b2 = 1'),
      code('c = 1', 'step:c')
    ]);
    expect(earlierSteps(m, 0).map(s => s.name)).toEqual([]);
    expect(earlierSteps(m, 2).map(s => s.name)).toEqual(['a']);
    expect(earlierSteps(m, 3).map(s => s.name)).toEqual(['a', 'b']);
    expect(cellLabel(m.cells[2])).toBe('b');
  });
});

describe('helpers', () => {
  it('leadingKind', () => {
    expect(leadingKind('')).toBeNull();
    expect(leadingKind('# only a comment')).toBeNull();
    expect(leadingKind('%matplotlib inline\nimport os')).toBe('imports');
    expect(leadingKind('"""doc\nmore"""\nimport os\n\nclass A:\n    x = 1')).toBe('functions');
    expect(leadingKind('@dataclass\nclass A:\n    x: int')).toBe('functions');
    expect(leadingKind('import os\nos.getcwd()')).toBe('step');
    expect(leadingKind('!pip list')).toBe('step');
  });

  it('notebookStepName', () => {
    expect(notebookStepName('a/b/Train Model.ipynb')).toBe('train-model');
    expect(notebookStepName('___.ipynb')).toBe('pipeline');
  });
});
