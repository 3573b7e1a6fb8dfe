/**
 * The pipeline graph as SVG, from the compile route's `graph` JSON (nodes with layer/order,
 * edges with kind explicit|inferred, and the lanes of edges that skip layers as `waypoints`).
 * Explicit edges are solid, inferred ones dashed; a node shows its step's status in the shown
 * run; clicking (or Enter on) a node selects its first cell.
 */
import * as React from 'react';

import { Graph, GraphEdge, StepStatus } from './types';

const NODE_W = 128;
const NODE_H = 38;
const GAP_X = 20;
const GAP_Y = 36;
const PAD = 10;
/** A lane: where an edge that skips layers passes a layer, beside that layer's steps. */
const LANE_W = 8;
const LANE_GAP = 12;

export interface NodeBox {
  id: string;
  x: number;
  y: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface GraphLayout {
  boxes: Map<string, NodeBox>;
  /** `${layer}:${order}` of a lane -> its centre line (x) and top (y) */
  lanes: Map<string, Point>;
  width: number;
  height: number;
}

const laneKey = (layer: number, order: number) => `${layer}:${order}`;

/**
 * Pixel positions of the nodes and lanes: layers top to bottom, each layer centred, its steps in
 * order followed by the lanes of the edges that pass it (the edges' `waypoints`).
 */
export function layoutGraph(graph: Graph): GraphLayout {
  type Item = { order: number; node?: string; lane?: string };
  const rows = new Map<number, Item[]>();
  const row = (layer: number) => rows.get(layer) ?? rows.set(layer, []).get(layer)!;
  for (const n of graph.nodes) {
    row(n.layer).push({ order: n.order, node: n.id });
  }
  const laneSeen = new Set<string>();
  for (const e of graph.edges) {
    for (const w of e.waypoints ?? []) {
      const key = laneKey(w.layer, w.order);
      if (!laneSeen.has(key)) {
        laneSeen.add(key);
        row(w.layer).push({ order: w.order, lane: key });
      }
    }
  }
  const rowWidth = (items: Item[]) =>
    items.reduce((sum, it, i) => sum + (it.node ? NODE_W : LANE_W) + (i ? (it.node ? GAP_X : LANE_GAP) : 0), 0);
  for (const items of rows.values()) {
    items.sort((a, b) => a.order - b.order);
  }
  const widest = Math.max(NODE_W, ...[...rows.values()].map(rowWidth));
  const width = PAD * 2 + widest;
  const layers = Math.max(1, graph.layers || rows.size, ...[...rows.keys()].map(l => l + 1));
  const height = PAD * 2 + layers * NODE_H + (layers - 1) * GAP_Y;
  const boxes = new Map<string, NodeBox>();
  const lanes = new Map<string, Point>();
  for (const [layer, items] of rows) {
    const y = PAD + layer * (NODE_H + GAP_Y);
    let x = (width - rowWidth(items)) / 2;
    items.forEach((it, i) => {
      x += i ? (it.node ? GAP_X : LANE_GAP) : 0;
      if (it.node) {
        boxes.set(it.node, { id: it.node, x, y });
        x += NODE_W;
      } else {
        lanes.set(it.lane!, { x: x + LANE_W / 2, y });
        x += LANE_W;
      }
    });
  }
  return { boxes, lanes, width, height };
}

/** A cubic Bézier segment: start, two control points, end. */
export type Cubic = [Point, Point, Point, Point];

/** A curve leaving `a` and reaching `b` vertically; it stays between their heights. */
function link(a: Point, b: Point): Cubic {
  const dy = (b.y - a.y) / 2;
  return [a, { x: a.x, y: a.y + dy }, { x: b.x, y: b.y - dy }, b];
}

/**
 * The edge from box `a` to box `b` as cubic segments: down through the gaps between layers, and
 * straight down its lane in every layer it skips, so it never runs under another step.
 */
export function edgeCurves(a: NodeBox, b: NodeBox, waypoints: Point[] = []): Cubic[] {
  const curves: Cubic[] = [];
  let from: Point = { x: a.x + NODE_W / 2, y: a.y + NODE_H };
  for (const w of waypoints) {
    const top = { x: w.x, y: w.y };
    const bottom = { x: w.x, y: w.y + NODE_H };
    curves.push(link(from, top), [top, top, bottom, bottom]);
    from = bottom;
  }
  const to = { x: b.x + NODE_W / 2, y: b.y - 2 };
  // Bend at least 16 px, also for a backwards edge (an invalid prev: to a later step).
  const dy = Math.max(16, (to.y - from.y) / 2);
  curves.push([from, { x: from.x, y: from.y + dy }, { x: to.x, y: to.y - dy }, to]);
  return curves;
}

function edgePath(curves: Cubic[]): string {
  const p = (q: Point) => `${q.x} ${q.y}`;
  return `M ${p(curves[0][0])} ` + curves.map(c => `C ${p(c[1])}, ${p(c[2])}, ${p(c[3])}`).join(' ');
}

function shorten(label: string): string {
  return label.length > 17 ? `${label.slice(0, 16)}…` : label;
}

export function PipelineGraph(props: {
  graph: Graph;
  statuses: Record<string, StepStatus>;
  stale: boolean;
  onSelect: (firstCell: number | null) => void;
}): JSX.Element {
  const { graph, statuses } = props;
  if (!graph.nodes.length) {
    return <div className="jp-kf-empty">No steps yet: tag a cell as a step.</div>;
  }
  const { boxes, lanes, width, height } = layoutGraph(graph);
  const edgeTitle = (e: GraphEdge) =>
    `${e.source} → ${e.target} (${e.kind}${e.names && e.names.length ? `: ${e.names.join(', ')}` : ''})`;
  return (
    <div className={`jp-kf-graph-wrap${props.stale ? ' jp-kf-stale' : ''}`}>
      <svg
        className="jp-kf-graph"
        data-testid="kf-graph"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        // Shrink a wide graph to the panel's width, down to 65 %, then scroll.
        style={{ width: '100%', height: 'auto', maxWidth: width, minWidth: Math.round(width * 0.65) }}
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
              d={edgePath(edgeCurves(a, b, waypoints as Point[]))}
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
              <rect width={NODE_W} height={NODE_H} rx={6} ry={6} />
              <text x={NODE_W / 2} y={status ? 16 : NODE_H / 2 + 4} textAnchor="middle" className="jp-kf-node-label">
                {shorten(n.label)}
              </text>
              {status && (
                <text x={NODE_W / 2} y={31} textAnchor="middle" className="jp-kf-node-status" data-testid="kf-graph-node-status">
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
