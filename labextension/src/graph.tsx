/**
 * The pipeline graph as SVG, from the compile route's `graph` JSON (nodes with layer/order,
 * edges with kind explicit|inferred). Explicit edges are solid, inferred ones dashed; a node
 * shows its step's status in the shown run; clicking (or Enter on) a node selects its first cell.
 */
import * as React from 'react';

import { Graph, GraphEdge, StepStatus } from './types';

const NODE_W = 128;
const NODE_H = 38;
const GAP_X = 20;
const GAP_Y = 36;
const PAD = 10;

export interface NodeBox {
  id: string;
  x: number;
  y: number;
}

/** Pixel positions of the nodes: layers top to bottom, each layer centred. */
export function layoutGraph(graph: Graph): { boxes: Map<string, NodeBox>; width: number; height: number } {
  const byLayer = new Map<number, typeof graph.nodes>();
  for (const n of graph.nodes) {
    const list = byLayer.get(n.layer) ?? [];
    list.push(n);
    byLayer.set(n.layer, list);
  }
  const widest = Math.max(1, ...[...byLayer.values()].map(l => l.length));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const layers = Math.max(1, graph.layers || byLayer.size);
  const height = PAD * 2 + layers * NODE_H + (layers - 1) * GAP_Y;
  const boxes = new Map<string, NodeBox>();
  for (const [layer, nodes] of byLayer) {
    nodes.sort((a, b) => a.order - b.order);
    const rowWidth = nodes.length * NODE_W + (nodes.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    nodes.forEach((n, i) => {
      boxes.set(n.id, { id: n.id, x: x0 + i * (NODE_W + GAP_X), y: PAD + layer * (NODE_H + GAP_Y) });
    });
  }
  return { boxes, width, height };
}

function edgePath(a: NodeBox, b: NodeBox): string {
  const x1 = a.x + NODE_W / 2;
  const y1 = a.y + NODE_H;
  const x2 = b.x + NODE_W / 2;
  const y2 = b.y;
  const dy = Math.max(16, (y2 - y1) / 2);
  return `M ${x1} ${y1} C ${x1} ${y1 + dy}, ${x2} ${y2 - dy}, ${x2} ${y2 - 2}`;
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
  const { boxes, width, height } = layoutGraph(graph);
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
          if (!a || !b) {
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
              d={edgePath(a, b)}
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
