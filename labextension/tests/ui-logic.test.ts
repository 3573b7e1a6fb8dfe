import { Cubic, edgeCurves, fitLayout, layoutGraph, NodeBox, nodeWidth, Point } from '../src/graph';
import { coerceParameter, showParameter } from '../src/parameters';
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

describe('fitting the panel', () => {
  const fan = (k: number, label = (i: number) => `train-model-${i}`): Graph => ({
    name: 'p',
    valid: true,
    layers: 3,
    nodes: [
      { id: 'load', label: 'load', layer: 0, order: 0, cells: [0], first_cell: 0 },
      ...Array.from({ length: k }, (_, i) => ({ id: label(i), label: label(i), layer: 1, order: i, cells: [i + 1], first_cell: i + 1 })),
      { id: 'evaluate', label: 'evaluate', layer: 2, order: 0, cells: [k + 1], first_cell: k + 1 }
    ],
    edges: []
  });

  it('sizes nodes to their longest label, so n_estimators is not cut', () => {
    expect(nodeWidth(fan(3, i => ['n_estimators', 'b', 'c'][i]))).toBeGreaterThanOrEqual(12 * 6.8);
    expect(nodeWidth(fan(1, () => 'x'))).toBe(Math.ceil('evaluate'.length * 6.8 + 18)); // the longest label
  });

  it('keeps a narrow graph top-down and turns a wide fan-out left to right', () => {
    expect(fitLayout(fan(3), 1000).orientation).toBe('down');
    const wide = fitLayout(fan(8), 280);
    expect(wide.orientation).toBe('right');
    expect(wide.width).toBeLessThan(layoutGraph(fan(8), 'down').width);
  });
});

describe('edges that skip layers', () => {
  // load -> square -> total from data; load -> total by prev:, past square (as graph_json gives it).
  const graph: Graph = {
    name: 'p',
    valid: true,
    layers: 3,
    nodes: [
      { id: 'load', label: 'load', layer: 0, order: 0, cells: [1], first_cell: 1 },
      { id: 'square', label: 'square', layer: 1, order: 0, cells: [2], first_cell: 2 },
      { id: 'total', label: 'total', layer: 2, order: 0, cells: [3], first_cell: 3 }
    ],
    edges: [
      { source: 'load', target: 'square', kind: 'inferred', names: ['numbers'], waypoints: [] },
      { source: 'square', target: 'total', kind: 'inferred', names: ['squares'], waypoints: [] },
      { source: 'load', target: 'total', kind: 'explicit', names: [], waypoints: [{ layer: 1, order: 1 }] }
    ]
  };
  const at = (c: Cubic, t: number): Point => {
    const k = [(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3];
    return { x: c.reduce((s, p, i) => s + k[i] * p.x, 0), y: c.reduce((s, p, i) => s + k[i] * p.y, 0) };
  };
  const inside = (p: Point, box: NodeBox) =>
    p.x > box.x + 2 && p.x < box.x + box.w - 2 && p.y > box.y + 2 && p.y < box.y + box.h - 2;

  it('route around the steps in between, through their lane', () => {
    const layout = layoutGraph(graph);
    const box = (id: string) => layout.boxes.get(id)!;
    const lane = layout.lanes.get('1:1')!;
    expect(lane.y).toBe(box('square').y);
    expect(lane.x).toBeGreaterThan(box('square').x + box('square').w); // the lane is beside square
    expect(layout.width).toBeGreaterThan(lane.x);
    const curves = edgeCurves(box('load'), box('total'), [lane]);
    const points = curves.flatMap(c => Array.from({ length: 41 }, (_, i) => at(c, i / 40)));
    expect(points.filter(p => inside(p, box('square')))).toEqual([]);
    // it still joins its own ends: from load's bottom to total's top
    expect(points[0]).toEqual({ x: box('load').x + box('load').w / 2, y: box('load').y + box('load').h });
    expect(points[points.length - 1].x).toBeCloseTo(box('total').x + box('total').w / 2);
    expect(points[points.length - 1].y).toBeCloseTo(box('total').y - 2);
  });

  it('route around the steps in between when laid out left to right too', () => {
    const layout = layoutGraph(graph, 'right');
    const box = (id: string) => layout.boxes.get(id)!;
    expect(box('load').x).toBeLessThan(box('square').x);
    const curves = edgeCurves(box('load'), box('total'), [layout.lanes.get('1:1')!], 'right');
    const points = curves.flatMap(c => Array.from({ length: 41 }, (_, i) => at(c, i / 40)));
    expect(points.filter(p => inside(p, box('square')))).toEqual([]);
    expect(points[0]).toEqual({ x: box('load').x + box('load').w, y: box('load').y + box('load').h / 2 });
  });

  it('keep edges between adjacent layers a single curve', () => {
    const layout = layoutGraph(graph);
    expect(edgeCurves(layout.boxes.get('load')!, layout.boxes.get('square')!)).toHaveLength(1);
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
