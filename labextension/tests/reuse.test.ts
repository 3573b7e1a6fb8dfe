import { diffText, kfLoadCode, previousRun, runFromHereRequest, stepTarget } from '../src/reuseLogic';

/** A minimal element chain (the test environment has no DOM): node -> step row -> run item. */
function fakeNode(runId: string, step: string): Element {
  const runItem = { dataset: { runId }, closest: (s: string) => (s === '[data-run-id]' ? runItem : null) };
  const row = {
    dataset: { step },
    closest: (s: string) => (s === '[data-step]' ? row : s === '[data-run-id]' ? runItem : null)
  };
  return { closest: (s: string) => row.closest(s) } as unknown as Element;
}

describe('step rows of a run', () => {
  it('give their run and step from any node inside them', () => {
    expect(stepTarget(fakeNode('20261204-164738-8a53', 'train-forest'))).toEqual({
      run: '20261204-164738-8a53',
      step: 'train-forest'
    });
    expect(stepTarget(null)).toBeNull();
  });

  it('refuse anything but a run id and a plain step name', () => {
    expect(stepTarget(fakeNode('20261204-164738-8a53', 'a\nimport os'))).toBeNull();
    expect(stepTarget(fakeNode('not-a-run', 'train'))).toBeNull();
    expect(() => kfLoadCode({ run: '20261204-164738-8a53', step: 'x; rm' })).toThrow();
  });

  it('load with %kf_load and run from a step with that run as inputs', () => {
    const t = { run: '20261204-164738-8a53', step: 'evaluate' };
    expect(kfLoadCode(t)).toBe('%load_ext jupyter_kf\n%kf_load 20261204-164738-8a53 evaluate');
    expect(runFromHereRequest('dir/pipe.ipynb', t)).toEqual({
      notebook: 'dir/pipe.ipynb',
      from_step: 'evaluate',
      inputs_from: '20261204-164738-8a53',
      cache: false
    });
  });
});

describe('comparing runs', () => {
  it('compares a run with the one before it in the (newest first) list', () => {
    expect(previousRun(['r3', 'r2', 'r1'], 'r2')).toBe('r1');
    expect(previousRun(['r3', 'r2', 'r1'], 'r1')).toBeNull();
    expect(previousRun(['r3'], 'unknown')).toBeNull();
  });

  it('writes every section, "same" where nothing differs', () => {
    const text = diffText({
      a: 'A',
      b: 'B',
      parameters: { k: [2, 3] },
      metrics: {},
      code: { c: '--- A/c\n+++ B/c\n-total = 1\n+total = 2\n' },
      data: { added: ['new.csv'], removed: [], changed: ['data.csv'] },
      environment: [{ kind: 'package', name: 'numpy', a: '1.0', b: null }]
    });
    expect(text.split('\n')).toEqual([
      '--- A',
      '+++ B',
      'parameters:',
      '  k: 2 -> 3',
      'metrics: same',
      'code: c changed',
      '  --- A/c',
      '  +++ B/c',
      '  -total = 1',
      '  +total = 2',
      'data:',
      '  + new.csv',
      '  ~ data.csv',
      'environment:',
      '  numpy: 1.0 -> (absent)'
    ]);
  });
});
