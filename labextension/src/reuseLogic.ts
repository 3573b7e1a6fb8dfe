/**
 * What "Load into kernel" and "Run from here" need, without JupyterLab: the run and step of a
 * step row in the panel, the `%kf_load` code (plain names only), the run request.
 */
import { RunRequest } from './types';

export const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4,}$/;
export const STEP_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface StepTarget {
  run: string;
  step: string;
}

/** The run and step of a step row (the clicked node or one of its ancestors), if valid. */
export function stepTarget(node: Element | null): StepTarget | null {
  const row = node?.closest('[data-step]') as HTMLElement | null;
  const runItem = row?.closest('[data-run-id]') as HTMLElement | null;
  const step = row?.dataset.step;
  const run = runItem?.dataset.runId;
  if (!step || !run || !RUN_ID.test(run) || !STEP_NAME.test(step)) {
    return null;
  }
  return { run, step };
}

/** The code that loads the values a step saw into a kernel; refuses anything but plain names. */
export function kfLoadCode(target: StepTarget): string {
  if (!RUN_ID.test(target.run) || !STEP_NAME.test(target.step)) {
    throw new Error(`not a run id and step name: ${target.run} ${target.step}`);
  }
  return `%load_ext jupyter_kf\n%kf_load ${target.run} ${target.step}`;
}

/** The request of "Run from here": the step and everything downstream execute (the cache is not
 * read: that is what the user asked for; results are still recorded), upstream from `target.run`. */
export function runFromHereRequest(
  notebook: string,
  target: StepTarget
): RunRequest & { from_step: string; inputs_from: string; cache: boolean } {
  return { notebook, from_step: target.step, inputs_from: target.run, cache: false };
}

/** GET runs/{a}/diff/{b} (jupyter_kf.models.RunDiff). */
export interface RunDiff {
  a: string;
  b: string;
  parameters: Record<string, [unknown, unknown]>;
  metrics: Record<string, [unknown, unknown]>;
  code: Record<string, string>;
  data: { added: string[]; removed: string[]; changed: string[] };
  environment: { kind: string; name: string; a?: string | null; b?: string | null }[];
}

/** The run listed after `runId` (the list is newest first): the one to compare it with. */
export function previousRun(runIds: string[], runId: string): string | null {
  const i = runIds.indexOf(runId);
  return i >= 0 && i + 1 < runIds.length ? runIds[i + 1] : null;
}

function show(v: unknown): string {
  return v === undefined || v === null ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** The diff as text, section by section ("same" where nothing differs). */
export function diffText(d: RunDiff): string {
  const out = [`--- ${d.a}`, `+++ ${d.b}`];
  const pairs = (title: string, changes: Record<string, [unknown, unknown]>) => {
    const keys = Object.keys(changes);
    out.push(`${title}: ${keys.length ? '' : 'same'}`.trimEnd());
    keys.forEach(k => out.push(`  ${k}: ${show(changes[k][0])} -> ${show(changes[k][1])}`));
  };
  pairs('parameters', d.parameters);
  pairs('metrics', d.metrics);
  const steps = Object.keys(d.code);
  out.push(steps.length ? `code: ${steps.join(', ')} changed` : 'code: same');
  steps.forEach(s => d.code[s].split('\n').filter(Boolean).forEach(line => out.push(`  ${line}`)));
  const { added, removed, changed } = d.data;
  if (added.length + removed.length + changed.length === 0) {
    out.push('data: same');
  } else {
    out.push('data:');
    added.forEach(p => out.push(`  + ${p}`));
    removed.forEach(p => out.push(`  - ${p}`));
    changed.forEach(p => out.push(`  ~ ${p}`));
  }
  out.push(d.environment.length ? 'environment:' : 'environment: same');
  d.environment.forEach(e => out.push(`  ${e.kind === 'package' ? e.name : e.kind}: ${e.a ?? '(absent)'} -> ${e.b ?? '(absent)'}`));
  return out.join('\n');
}
