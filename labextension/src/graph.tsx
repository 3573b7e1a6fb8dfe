/**
 * The pipeline graph as SVG, from the compile route's `graph` JSON (nodes with layer/order,
 * edges with kind explicit|inferred, and the lanes of edges that skip layers as `waypoints`).
 * Explicit edges are solid, inferred ones dashed; a node shows its step's status in the shown
 * run; clicking (or Enter on) a node selects its first cell.
 */
import * as React from 'react';

import { Graph, GraphEdge, StepStatus } from './types';

const NODE_H = 38;
const PAD = 10;
/** Node width: the longest label plus padding (labels estimated at 6.8 px a character without a canvas). */
const CHAR_W = 6.8;
const LABEL_PAD = 18;
const MIN_NODE_W = 64;
const MAX_LABEL = 24;
/** A lane: where an edge that skips layers passes a layer, beside that layer's steps. */
const LANE_W = 8;

/** Layers top to bottom ('down', the default) or left to right ('right', for wide layers). */
export type Orientation = 'down' | 'right';

const SPACING: Record<Orientation, { main: number; cross: number; lane: number }> = {
  down: { main: 36, cross: 16, lane: 12 },
  right: { main: 26, cross: 10, lane: 6 }
};

export interface NodeBox {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Where an edge passes a layer it skips: the lane's centre line, the start of its layer (top, or
 * left) and the layer's depth (`len`) along the main axis. */
export interface Lane extends Point {
  len: number;
}

export interface GraphLayout {
  orientation: Orientation;
  boxes: Map<string, NodeBox>;
  /** `${layer}:${order}` of a lane -> where it is */
  lanes: Map<string, Lane>;
  width: number;
  height: number;
}

const laneKey = (layer: number, order: number) => `${layer}:${order}`;

function shorten(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

let measureContext: CanvasRenderingContext2D | null | undefined;

/** Width of a label in the UI font at 12 px (measured on a canvas; estimated where there is none). */
function labelWidth(label: string): number {
  if (measureContext === undefined) {
    try {
      measureContext = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');
      if (measureContext) {
        const family = getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family').trim();
        measureContext.font = `12px ${family || 'sans-serif'}`;
      }
    } catch {
      measureContext = null;
    }
  }
  return measureContext ? measureContext.measureText(label).width : label.length * CHAR_W;
}

/** A node width wide enough for the longest (shortened) label of `nodes`. */
export function nodeWidth(graph: Graph, nodes = graph.nodes): number {
  const longest = Math.max(0, ...nodes.map(n => labelWidth(shorten(n.label))));
  return Math.max(MIN_NODE_W, Math.ceil(longest + LABEL_PAD));
}

/** Swap x and y: layouts are computed top-down and turned for 'right'. */
const turn = <P extends Point>(p: P): P => ({ ...p, x: p.y, y: p.x });
const turnBox = (b: NodeBox): NodeBox => ({ id: b.id, x: b.y, y: b.x, w: b.h, h: b.w });

/**
 * Pixel positions of the nodes and lanes: layers along the main axis, each layer centred across
 * it, its steps in order followed by the lanes of the edges that pass it (the edges' `waypoints`).
 */
export function layoutGraph(graph: Graph, orientation: Orientation = 'down'): GraphLayout {
  const down = orientation === 'down';
  const gap = SPACING[orientation];
  const w = nodeWidth(graph);
  // In top-down coordinates: a node spans `across` on x and `along(layer)` on y. Left to right,
  // each layer is as deep as its longest label.
  const across = down ? w : NODE_H;
  const depth = new Map<number, number>();
  if (!down) {
    for (const n of graph.nodes) {
      depth.set(n.layer, Math.max(depth.get(n.layer) ?? MIN_NODE_W, nodeWidth(graph, [n])));
    }
  }
  const along = (layer: number) => (down ? NODE_H : (depth.get(layer) ?? MIN_NODE_W));
  type Item = { order: number; node?: string; lane?: string };
  const rows = new Map<number, Item[]>();
  const row = (layer: number) => rows.get(layer) ?? rows.set(layer, []).get(layer)!;
  for (const n of graph.nodes) {
    row(n.layer).push({ order: n.order, node: n.id });
  }
  const laneSeen = new Set<string>();
  for (const e of graph.edges) {
    for (const wp of e.waypoints ?? []) {
      const key = laneKey(wp.layer, wp.order);
      if (!laneSeen.has(key)) {
        laneSeen.add(key);
        row(wp.layer).push({ order: wp.order, lane: key });
      }
    }
  }
  const rowWidth = (items: Item[]) =>
    items.reduce((sum, it, i) => sum + (it.node ? across : LANE_W) + (i ? (it.node ? gap.cross : gap.lane) : 0), 0);
  for (const items of rows.values()) {
    items.sort((a, b) => a.order - b.order);
  }
  const widest = Math.max(across, ...[...rows.values()].map(rowWidth));
  const crossSize = PAD * 2 + widest;
  const layers = Math.max(1, graph.layers || rows.size, ...[...rows.keys()].map(l => l + 1));
  const start: number[] = [PAD];
  for (let l = 0; l < layers; l++) {
    start.push(start[l] + along(l) + gap.main);
  }
  const mainSize = start[layers] - gap.main + PAD;
  const boxes = new Map<string, NodeBox>();
  const lanes = new Map<string, Lane>();
  for (const [layer, items] of rows) {
    const y = start[layer];
    let x = (crossSize - rowWidth(items)) / 2;
    items.forEach((it, i) => {
      x += i ? (it.node ? gap.cross : gap.lane) : 0;
      if (it.node) {
        const box = { id: it.node, x, y, w: across, h: along(layer) };
        boxes.set(it.node, down ? box : turnBox(box));
        x += across;
      } else {
        const lane = { x: x + LANE_W / 2, y, len: along(layer) };
        lanes.set(it.lane!, down ? lane : turn(lane));
        x += LANE_W;
      }
    });
  }
  return down
    ? { orientation, boxes, lanes, width: crossSize, height: mainSize }
    : { orientation, boxes, lanes, width: mainSize, height: crossSize };
}

/**
 * The layout that fits `available` px of width best: top-down when it fits, else left to right
 * when that is narrower (wide fan-outs). The SVG is then scaled to the width, never scrolled.
 */
export function fitLayout(graph: Graph, available: number | null): GraphLayout {
  const down = layoutGraph(graph, 'down');
  if (!available || down.width <= available) {
    return down;
  }
  const right = layoutGraph(graph, 'right');
  return right.width < down.width ? right : down;
}

/** A cubic Bézier segment: start, two control points, end. */
export type Cubic = [Point, Point, Point, Point];

/** A curve leaving `a` and reaching `b` vertically; it stays between their heights. */
function link(a: Point, b: Point): Cubic {
  const dy = (b.y - a.y) / 2;
  return [a, { x: a.x, y: a.y + dy }, { x: b.x, y: b.y - dy }, b];
}

/**
 * The edge from box `a` to box `b` as cubic segments: along the main axis through the gaps
 * between layers, and straight through its lane in every layer it skips, so it never runs under
 * another step.
 */
export function edgeCurves(
  a: NodeBox,
  b: NodeBox,
  waypoints: (Point & { len?: number })[] = [],
  orientation: Orientation = 'down'
): Cubic[] {
  if (orientation === 'right') {
    const curves = edgeCurves(turnBox(a), turnBox(b), waypoints.map(turn), 'down');
    return curves.map(c => c.map(turn) as Cubic);
  }
  const curves: Cubic[] = [];
  let from: Point = { x: a.x + a.w / 2, y: a.y + a.h };
  for (const w of waypoints) {
    const top = { x: w.x, y: w.y };
    const bottom = { x: w.x, y: w.y + (w.len ?? a.h) };
    curves.push(link(from, top), [top, top, bottom, bottom]);
    from = bottom;
  }
  const to = { x: b.x + b.w / 2, y: b.y - 2 };
  // Bend at least 16 px, also for a backwards edge (an invalid prev: to a later step).
  const dy = Math.max(16, (to.y - from.y) / 2);
  curves.push([from, { x: from.x, y: from.y + dy }, { x: to.x, y: to.y - dy }, to]);
  return curves;
}

function edgePath(curves: Cubic[]): string {
  const p = (q: Point) => `${q.x} ${q.y}`;
  return `M ${p(curves[0][0])} ` + curves.map(c => `C ${p(c[1])}, ${p(c[2])}, ${p(c[3])}`).join(' ');
}

/** The width of an element, followed as it resizes (null before it is laid out). */
function useWidth(ref: React.RefObject<HTMLElement>): number | null {
  const [width, setWidth] = React.useState<number | null>(null);
  React.useLayoutEffect(() => {
    const el = ref.current;
    if (!el) {
      return;
    }
    const measure = () => setWidth(el.clientWidth || null);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref.current]);
  return width;
}

export function PipelineGraph(props: {
  graph: Graph;
  statuses: Record<string, StepStatus>;
  stale: boolean;
  onSelect: (firstCell: number | null) => void;
}): JSX.Element {
  const { graph, statuses } = props;
  const wrap = React.useRef<HTMLDivElement>(null);
  const available = useWidth(wrap);
  if (!graph.nodes.length) {
    return <div className="jp-kf-empty">No steps yet: tag a cell as a step.</div>;
  }
  const { boxes, lanes, width, height, orientation } = fitLayout(graph, available);
  const edgeTitle = (e: GraphEdge) =>
    `${e.source} → ${e.target} (${e.kind}${e.names && e.names.length ? `: ${e.names.join(', ')}` : ''})`;
  return (
    <div className={`jp-kf-graph-wrap${props.stale ? ' jp-kf-stale' : ''}`} ref={wrap}>
      <svg
        className="jp-kf-graph"
        data-testid="kf-graph"
        data-orientation={orientation}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        // Scaled down to the panel's width (never clipped, never scrolled sideways).
        style={{ width: '100%', height: 'auto', maxWidth: width }}
        role="group"
        aria-label={`Pipeline graph of ${graph.name}`}
      >
        <defs>
          <marker id="jp-kf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="jp-kf-arrow" />
          </marker>
        </defs>
        {graph.edges.map(e => {
          const a = boxes.get(e.source);
          const b = boxes.get(e.target);
          const waypoints = (e.waypoints ?? []).map(w => lanes.get(`${w.layer}:${w.order}`));
          if (!a || !b || waypoints.some(w => !w)) {
            return null;
          }
          return (
            <path
              key={`${e.source}->${e.target}`}
              className={`jp-kf-edge jp-kf-edge-${e.kind}`}
              data-testid="kf-graph-edge"
              data-source={e.source}
              data-target={e.target}
              data-kind={e.kind}
              d={edgePath(edgeCurves(a, b, waypoints as Point[], orientation))}
              markerEnd="url(#jp-kf-arrow)"
            >
              <title>{edgeTitle(e)}</title>
            </path>
          );
        })}
        {graph.nodes.map(n => {
          const box = boxes.get(n.id)!;
          const status = statuses[n.id];
          const label = `Step ${n.label}${status ? `, ${status}` : ''}${n.errors ? `, ${n.errors} problem(s)` : ''}`;
          const activate = () => props.onSelect(n.first_cell);
          return (
            <g
              key={n.id}
              className={`jp-kf-node${status ? ` jp-kf-node-${status}` : ''}${n.errors ? ' jp-kf-node-error' : ''}`}
              data-testid="kf-graph-node"
              data-step={n.id}
              data-status={status ?? ''}
              transform={`translate(${box.x}, ${box.y})`}
              tabIndex={0}
              role="button"
              aria-label={label}
              onClick={activate}
              onKeyDown={e => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  activate();
                }
              }}
            >
              <title>{label}</title>
              <rect width={box.w} height={box.h} rx={6} ry={6} />
              <text x={box.w / 2} y={status ? 16 : box.h / 2 + 4} textAnchor="middle" className="jp-kf-node-label">
                {shorten(n.label)}
              </text>
              {status && (
                <text x={box.w / 2} y={31} textAnchor="middle" className="jp-kf-node-status" data-testid="kf-graph-node-status">
                  {status}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <div className="jp-kf-legend" data-testid="kf-graph-legend">
        <span>
          <svg width="28" height="8" aria-hidden="true">
            <line x1="0" y1="4" x2="28" y2="4" className="jp-kf-edge jp-kf-edge-explicit" />
          </svg>
          explicit (prev:)
        </span>
        <span>
          <svg width="28" height="8" aria-hidden="true">
            <line x1="0" y1="4" x2="28" y2="4" className="jp-kf-edge jp-kf-edge-inferred" />
          </svg>
          inferred (data)
        </span>
      </div>
    </div>
  );
}
