/**
 * The REST API's JSON shapes (jupyter_kf/openapi.yaml, generated from the pydantic models).
 * Only the fields the panel reads are typed.
 */

export interface Problem {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  cell?: number | null;
  line?: number | null;
  step?: string | null;
  name?: string | null;
}

export interface Parameter {
  name: string;
  type: 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict' | 'null';
  default: unknown;
  cell: number;
}

export interface PipelineStep {
  name: string;
  cells: { index: number; cell_type: string; source: string; tags: string[] }[];
  depends_on: string[];
  parameters: string[];
  metrics: string[];
  outputs: string[];
  inputs: { name: string; producer: string; kind: string }[];
  resources: { limits: Record<string, string> };
  image?: string | null;
  cache?: boolean | null;
}

export interface Pipeline {
  name: string;
  notebook: string;
  description?: string | null;
  parameters: Parameter[];
  steps: PipelineStep[];
  edges: GraphEdge[];
  problems: Problem[];
  cache: boolean;
}

export interface GraphNode {
  id: string;
  label: string;
  layer: number;
  order: number;
  cells: number[];
  first_cell: number | null;
  parameters?: string[];
  metrics?: string[];
  outputs?: string[];
  errors?: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  kind: 'explicit' | 'inferred';
  names?: string[];
  /** Lanes the edge runs through in the layers it skips (`order` counts on after the layer's steps). */
  waypoints?: { layer: number; order: number }[];
}

export interface Graph {
  name: string;
  valid: boolean;
  layers: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface CompileResult {
  pipeline: Pipeline;
  graph: Graph;
  problems: Problem[];
  valid: boolean;
}

export interface BackendInfo {
  name: string;
  available: boolean;
  configured: boolean;
  description?: string;
  reason?: string | null;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'cached' | 'failed' | 'skipped' | 'cancelled';

export interface StepRun {
  name: string;
  status: StepStatus;
  started_at?: string | null;
  finished_at?: string | null;
  duration?: number | null;
  attempt?: number;
  cached_from?: string | null;
  error?: string | null;
  failed_cell?: number | null;
  notebook?: string | null;
  log?: string | null;
  metrics: Record<string, unknown>;
}

export interface Run {
  id: string;
  pipeline: string;
  notebook: string;
  backend: string;
  status: RunStatus;
  created_at: string;
  started_at?: string | null;
  finished_at?: string | null;
  parameters: Record<string, unknown>;
  cache: boolean;
  retry_of?: string | null;
  run_dir?: string | null;
  error?: string | null;
  steps: StepRun[];
  metrics: Record<string, unknown>;
  external_url?: string | null;
}

export interface RunList {
  runs: Run[];
  cursor: string;
}

export interface RunRequest {
  notebook: string;
  backend?: string;
  parameters?: Record<string, unknown>;
  cache?: boolean;
}

export interface StepLog {
  run: string;
  step: string;
  text: string;
  path?: string | null;
}

export interface StepNotebook {
  run: string;
  step: string;
  path?: string | null;
  content: Record<string, unknown>;
}

export const FINISHED_RUN: ReadonlySet<RunStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'interrupted'
]);

export function isFinished(run: Run): boolean {
  return FINISHED_RUN.has(run.status);
}

/** Seconds a run took (or has taken so far), or null before it started. */
export function runDuration(run: Run, now: number = Date.now()): number | null {
  if (!run.started_at) {
    return null;
  }
  const start = Date.parse(run.started_at);
  const end = run.finished_at ? Date.parse(run.finished_at) : now;
  return Math.max(0, (end - start) / 1000);
}

/** "4.2 s", "3 min 05 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}
