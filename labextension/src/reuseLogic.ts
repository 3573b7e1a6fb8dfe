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

/** The request of "Run from here": the step and everything downstream, upstream from `target.run`. */
export function runFromHereRequest(
  notebook: string,
  target: StepTarget
): RunRequest & { from_step: string; inputs_from: string } {
  return { notebook, from_step: target.step, inputs_from: target.run };
}
