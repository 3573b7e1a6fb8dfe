import { markerOf } from '../src/markers';
import { CellInput, deriveModel } from '../src/model';

const code = (source: string, ...tags: string[]): CellInput => ({ cellType: 'code', source, tags });
const md = (source: string): CellInput => ({ cellType: 'markdown', source, tags: [] });

const labels = (cells: CellInput[]) => {
  const model = deriveModel(cells, 'demo.ipynb');
  return cells.map((_, i) => markerOf(model, i)?.label ?? null);
};

describe('cell markers', () => {
  it('leave documentation above the first step unmarked, and mark it inside later steps', () => {
    expect(
      labels([
        md('# Title'),
        code('import os', 'imports'),
        md('## Loading'),
        code('x = 1', 'step:load'),
        md('Notes on load'),
        code('y = x', 'step:use'),
        md('## Using')
      ])
    ).toEqual([null, 'imports', null, 'load', 'load …', 'use', 'use …']);
  });

  it('show the step name on the first code cell of an untagged notebook with a title', () => {
    expect(labels([md('# Title'), code('x = 1'), code('print(x)')])).toEqual([null, 'demo', 'demo …']);
  });

  it('mark markdown between steps as the next step (where the converter carries it)', () => {
    const m = deriveModel([code('x = 1', 'step:a'), code('print(x)', 'skip'), md('About b'), code('y = 2', 'step:b')]);
    expect(markerOf(m, 2)).toMatchObject({ block: 'step', step: 'b', label: 'b …' });
  });
});
