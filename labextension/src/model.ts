/**
 * Which block (imports, functions, parameters, metrics, skip, or which step) each cell of a
 * notebook belongs to, derived from the tags alone, in pure TypeScript.
 *
 * It follows the converter's rules (`jupyter_kf_converter/parse.py`) so the cell markers update
 * at once while typing; the compile route stays the authority for the graph and the problems.
 * One approximation: an untagged code cell before the first tagged cell is classified by a line
 * scan (only imports -> imports; only def/class -> functions; else the implicit step `setup`)
 * where the converter uses Python's ast.
 */
import { CellRole, k8sName, parseTags, sanitizeStepName, TagProblem } from './tags';

export type BlockKind = 'imports' | 'functions' | 'parameters' | 'metrics' | 'skip' | 'step';

/** A notebook cell as this module needs it. */
export interface CellInput {
  cellType: string;
  tags: readonly unknown[];
  source: string;
}

/** Where one cell belongs. */
export interface CellAssignment {
  index: number;
  cellType: string;
  /** The block the cell is part of; null for an empty untagged cell before anything. */
  block: BlockKind | null;
  /** The step's name (Kubernetes form) when block is 'step'. */
  step: string | null;
  /** The cell's own role from its own tags ('none' when it has no role tag). */
  role: CellRole;
  /** The cell's own tag problems. */
  problems: TagProblem[];
  /** True when the cell opens its block (has the role tag itself, or opens an implicit block). */
  opens: boolean;
}

/** One step in notebook order. */
export interface StepInfo {
  name: string;
  /** The name as tagged (before lowercasing); the notebook's name for an untagged notebook. */
  rawName: string;
  cells: number[];
  /** The first code cell (or first cell) of the step. */
  firstCell: number;
  /** Explicit dependencies from prev: tags, in Kubernetes form. */
  prev: string[];
  /** Position in the notebook order, used to pick the step's colour. */
  order: number;
  implicit: boolean;
}

export interface NotebookModel {
  cells: CellAssignment[];
  steps: StepInfo[];
  /** False when no cell has a role or step tag (the whole notebook is one step). */
  tagged: boolean;
}

const ROLE_TO_BLOCK: Record<string, BlockKind> = {
  imports: 'imports',
  functions: 'functions',
  'pipeline-parameters': 'parameters',
  'pipeline-metrics': 'metrics',
  skip: 'skip',
  step: 'step'
};

/** Where an untagged code cell before the first tag goes (a line scan; see the module doc). */
export function leadingKind(source: string): BlockKind | null {
  const kinds = new Set<BlockKind>();
  let inDocstring = false;
  for (const line of source.split('\n')) {
    const text = line.trimEnd();
    if (inDocstring) {
      if (text.includes('"""') || text.includes("'''")) {
        inDocstring = false;
      }
      continue;
    }
    if (!text || /^\s/.test(text) || text.startsWith('#') || /^[)\]}]/.test(text)) {
      continue; // blank, comment, indented body or a closing bracket of a continued statement
    }
    if (/^("""|''')/.test(text)) {
      const rest = text.slice(3);
      inDocstring = !(rest.includes('"""') || rest.includes("'''"));
      continue;
    }
    if (/^(import|from)\s/.test(text) || /^%/.test(text)) {
      kinds.add('imports');
    } else if (/^(async\s+def|def|class)\s/.test(text) || text.startsWith('@')) {
      kinds.add('functions');
    } else {
      return 'step';
    }
  }
  if (!kinds.size) {
    return null;
  }
  return kinds.has('functions') ? 'functions' : 'imports';
}

/** The default step name of an untagged notebook (from its file name, as the converter does). */
export function notebookStepName(notebookPath: string): string {
  const base = notebookPath.split('/').pop() ?? notebookPath;
  const stem = base.replace(/\.ipynb$/i, '');
  return sanitizeStepName(stem) || 'pipeline';
}

/**
 * The pipeline's name as the converter gives it: the notebook metadata's `jupyter_kf.name` (or
 * Kale's `kubeflow_notebook.pipeline_name`) when it is a valid name, else the file name's.
 */
export function pipelineName(notebookPath: string, metadata: Record<string, any> = {}): string {
  const given = metadata?.jupyter_kf?.name ?? metadata?.kubeflow_notebook?.pipeline_name;
  if (typeof given === 'string' && given.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(given)) {
    return given;
  }
  return notebookStepName(notebookPath);
}

/** What an executed step notebook says about itself (emit writes `jupyter_kf = {pipeline, step}`). */
export interface StepNotebookInfo {
  pipeline: string;
  step: string;
  /** The run's id when the notebook sits in a run folder (`kf-runs/<run>/steps/<step>.ipynb`). */
  run: string | null;
}

/**
 * The step notebook's pipeline and step when the notebook is one the converter emitted (and a run
 * executed), else null: such a notebook is one step's record, not a pipeline to compile or run.
 */
export function stepNotebookInfo(metadata: Record<string, any> | null | undefined, path = ''): StepNotebookInfo | null {
  const ours = metadata?.jupyter_kf;
  if (!ours || typeof ours !== 'object' || typeof ours.step !== 'string' || !ours.step) {
    return null;
  }
  const run = /(?:^|\/)([^/]+)\/steps\/[^/]+\.ipynb$/i.exec(path);
  return {
    step: ours.step,
    pipeline: typeof ours.pipeline === 'string' && ours.pipeline ? ours.pipeline : '(unknown)',
    run: run ? run[1] : null
  };
}

/** Assign every cell to its block and step. */
export function deriveModel(cells: readonly CellInput[], notebookPath = 'pipeline.ipynb'): NotebookModel {
  const assigned: CellAssignment[] = cells.map((c, index) => {
    const parsed = c.cellType === 'code' ? parseTags(c.tags) : parseTags([]);
    return {
      index,
      cellType: c.cellType,
      block: null,
      step: null,
      role: parsed.role,
      problems: c.cellType === 'code' ? parsed.problems : [],
      opens: false
    };
  });
  const tagged = assigned.some(a => a.cellType === 'code' && a.role.kind !== 'none');
  const steps: StepInfo[] = [];
  const taken = new Set<string>();

  const addStep = (raw: string, implicit: boolean, prev: string[] = []): StepInfo => {
    let name = k8sName(raw);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
      name = sanitizeStepName(raw) || 'step';
    }
    if (taken.has(name)) {
      let n = 2;
      while (taken.has(`${name}-${n}`)) {
        n++;
      }
      name = `${name}-${n}`;
    }
    taken.add(name);
    const info: StepInfo = {
      name,
      rawName: raw,
      cells: [],
      firstCell: -1,
      prev: prev.map(k8sName),
      order: steps.length,
      implicit
    };
    steps.push(info);
    return info;
  };
  const put = (a: CellAssignment, step: StepInfo) => {
    a.block = 'step';
    a.step = step.name;
    step.cells.push(a.index);
  };

  if (!tagged) {
    if (assigned.length) {
      const step = addStep(notebookStepName(notebookPath), true);
      step.rawName = step.name;
      assigned.forEach(a => put(a, step));
      assigned[0].opens = true;
    }
    finishSteps(steps, assigned);
    return { cells: assigned, steps, tagged };
  }

  let current: { kind: BlockKind; step: StepInfo | null } | null = null;
  let lastStep: StepInfo | null = null;
  let pendingDocs: CellAssignment[] = [];
  let seenTag = false;

  const open = (kind: BlockKind, a: CellAssignment, step: StepInfo | null = null) => {
    current = { kind, step };
    a.opens = true;
    if (step) {
      pendingDocs.forEach(d => put(d, step));
      pendingDocs = [];
      lastStep = step;
    }
  };
  const join = (a: CellAssignment) => {
    const cur = current!;
    if (cur.step) {
      put(a, cur.step);
    } else {
      a.block = cur.kind;
    }
  };

  for (const a of assigned) {
    const cur = current as { kind: BlockKind; step: StepInfo | null } | null;
    if (a.cellType !== 'code') {
      if (cur && cur.step) {
        put(a, cur.step);
      } else {
        pendingDocs.push(a);
      }
      continue;
    }
    const kind = a.role.kind;
    if (kind === 'none') {
      if (!seenTag && (!cur || cur.kind !== 'step')) {
        const lead = leadingKind(cells[a.index].source);
        if (lead === null && !cur) {
          continue; // an empty cell before anything
        }
        if (lead === 'step') {
          open('step', a, addStep('setup', true));
        } else if (lead !== null && (!cur || cur.kind !== lead)) {
          open(lead, a);
        }
      }
      join(a);
      continue;
    }
    seenTag = true;
    if (kind === 'step') {
      const raw = a.role.name ?? 'step';
      if (cur && cur.step && cur.step.rawName === raw) {
        mergePrev(cur.step, a.role.prev);
        join(a);
        continue;
      }
      const last = lastStep as StepInfo | null;
      if (cur && cur.kind === 'skip' && last && last.rawName === raw) {
        // step:a, skip, step:a -> still one step
        pendingDocs.forEach(d => put(d, last));
        pendingDocs = [];
        current = { kind: 'step', step: last };
        mergePrev(last, a.role.prev);
        join(a);
        continue;
      }
      open('step', a, addStep(raw, false, a.role.prev));
      join(a);
      continue;
    }
    const block = ROLE_TO_BLOCK[kind];
    if (!cur || cur.kind !== block || cur.step) {
      open(block, a);
    } else {
      a.opens = true;
    }
    join(a);
  }
  const last = lastStep as StepInfo | null;
  if (pendingDocs.length && last) {
    pendingDocs.forEach(d => put(d, last));
  }
  finishSteps(steps, assigned);
  return { cells: assigned, steps, tagged };
}

function mergePrev(step: StepInfo, prev: string[]): void {
  for (const p of prev.map(k8sName)) {
    if (!step.prev.includes(p)) {
      step.prev.push(p);
    }
  }
}

function finishSteps(steps: StepInfo[], cells: CellAssignment[]): void {
  for (const s of steps) {
    s.cells.sort((x, y) => x - y);
    const code = s.cells.filter(i => cells[i].cellType === 'code');
    s.firstCell = code.length ? code[0] : (s.cells[0] ?? -1);
  }
}

/** The steps a cell may depend on: those that come before the cell's own step (or before it). */
export function earlierSteps(model: NotebookModel, cellIndex: number): StepInfo[] {
  const own = model.cells[cellIndex]?.step;
  if (own) {
    const pos = model.steps.findIndex(s => s.name === own);
    const ownStep = model.steps[pos];
    // A cell opening a new step: everything before it (the step it would be is not yet there).
    if (ownStep && ownStep.cells[0] !== undefined && ownStep.firstCell <= cellIndex) {
      return model.steps.slice(0, pos);
    }
  }
  return model.steps.filter(s => s.firstCell >= 0 && s.firstCell < cellIndex && s.name !== own);
}

/** A short label for what a cell belongs to, as shown on the cell marker. */
export function cellLabel(a: CellAssignment): string {
  switch (a.block) {
    case 'step':
      return a.step ?? '';
    case 'parameters':
      return 'parameters';
    case 'metrics':
      return 'metrics';
    case 'imports':
    case 'functions':
    case 'skip':
      return a.block;
    default:
      return '';
  }
}

/** Number of colours in the step palette (style/base.css defines --kf-step-color-0..N-1). */
export const PALETTE_SIZE = 8;

export function stepColorIndex(model: NotebookModel, step: string | null): number {
  if (!step) {
    return -1;
  }
  const s = model.steps.find(x => x.name === step);
  return s ? s.order % PALETTE_SIZE : -1;
}
