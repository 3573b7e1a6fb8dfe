import { layoutGraph } from '../src/graph';
import { coerceParameter, showParameter } from '../src/runForm';
import { formatDuration, isFinished, Run, runDuration } from '../src/types';
import { Graph, Parameter } from '../src/types';

describe('layoutGraph', () => {
  const graph: Graph = {
    name: 'p',
    valid: true,
    layers: 3,
    nodes: [
      { id: 'a', label: 'a', layer: 0, order: 0, cells: [1], first_cell: 1 },
      { id: 'c', label: 'c', layer: 1, order: 1, cells: [3], first_cell: 3 },
      { id: 'b', label: 'b', layer: 1, order: 0, cells: [2], first_cell: 2 },
      { id: 'd', label: 'd', layer: 2, order: 0, cells: [4], first_cell: 4 }
    ],
    edges: []
  };

  it('puts layers top to bottom and orders nodes left to right', () => {
    const { boxes, width, height } = layoutGraph(graph);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(id => boxes.get(id)!);
    expect(a.y).toBeLessThan(b.y);
    expect(b.y).toBe(c.y);
    expect(c.y).toBeLessThan(d.y);
    expect(b.x).toBeLessThan(c.x);
    // single nodes are centred over the widest layer
    expect(a.x).toBeCloseTo((b.x + c.x) / 2);
    expect(width).toBeGreaterThan(c.x);
    expect(height).toBeGreaterThan(d.y);
  });
});

describe('parameters', () => {
  const p = (type: Parameter['type'], value: unknown): Parameter => ({ name: 'x', type, default: value, cell: 0 });

  it('shows defaults as the user would type them', () => {
    expect(showParameter(p('float', 2))).toBe('2.0');
    expect(showParameter(p('float', 0.5))).toBe('0.5');
    expect(showParameter(p('str', 'hi'))).toBe('hi');
    expect(showParameter(p('list', [1, 2]))).toBe('[1,2]');
  });

  it('coerces typed values by the parameter type', () => {
    expect(coerceParameter(p('int', 1), ' 42 ')).toEqual({ value: 42 });
    expect(coerceParameter(p('int', 1), '4.2').error).toContain('whole number');
    expect(coerceParameter(p('float', 1), '1e-3')).toEqual({ value: 0.001 });
    expect(coerceParameter(p('float', 1), 'abc').error).toBeDefined();
    expect(coerceParameter(p('bool', true), 'false')).toEqual({ value: false });
    expect(coerceParameter(p('str', ''), ' keep spaces ')).toEqual({ value: ' keep spaces ' });
    expect(coerceParameter(p('dict', {}), '{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(coerceParameter(p('list', []), '[1,').error).toContain('JSON');
  });
});

describe('run helpers', () => {
  const run = (over: Partial<Run>): Run => ({
    id: 'r',
    pipeline: 'p',
    notebook: 'n.ipynb',
    backend: 'local',
    status: 'running',
    created_at: '2026-01-01T00:00:00Z',
    parameters: {},
    cache: true,
    steps: [],
    metrics: {},
    ...over
  });

  it('computes durations of finished and running runs', () => {
    expect(runDuration(run({}))).toBeNull();
    const started = run({ started_at: '2026-01-01T00:00:00Z', finished_at: '2026-01-01T00:01:05Z', status: 'succeeded' });
    expect(runDuration(started)).toBe(65);
    expect(runDuration(run({ started_at: '2026-01-01T00:00:00Z' }), Date.parse('2026-01-01T00:00:03Z'))).toBe(3);
    expect(formatDuration(65)).toBe('1 min 05 s');
    expect(formatDuration(4.25)).toBe('4.3 s');
    expect(formatDuration(null)).toBe('');
  });

  it('knows which statuses are final', () => {
    expect(isFinished(run({ status: 'queued' }))).toBe(false);
    expect(isFinished(run({ status: 'running' }))).toBe(false);
    for (const s of ['succeeded', 'failed', 'cancelled', 'interrupted'] as const) {
      expect(isFinished(run({ status: s }))).toBe(true);
    }
  });
});
