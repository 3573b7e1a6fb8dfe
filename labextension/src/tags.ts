/**
 * Cell tags <-> cell role, in pure TypeScript (no JupyterLab imports, unit-tested with jest).
 *
 * The vocabulary is Kale's, unchanged (`imports`, `functions`, `pipeline-parameters`,
 * `pipeline-metrics`, `skip`, `step:<name>` with the old synonym `block:<name>`, `prev:<name>`,
 * `limit:<resource>:<value>`, `image:<ref>`, `cache:enabled|disabled`) plus ours
 * (`timeout:<seconds>`, `retries:<n>`). It mirrors `jupyter_kf_converter/tags.py`: tags are the
 * single source of truth, the panel only reads and writes them.
 */

/** What a cell is in the pipeline. `none`: no role tag (it continues the block above). */
export type CellKind =
  | 'imports'
  | 'functions'
  | 'pipeline-parameters'
  | 'pipeline-metrics'
  | 'step'
  | 'skip'
  | 'none';

export const CELL_KINDS: CellKind[] = [
  'none',
  'step',
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics',
  'skip'
];

/** Human labels for the kinds, as shown in the cell editor. */
export const KIND_LABELS: Record<CellKind, string> = {
  none: 'None (continues the cell above)',
  step: 'Step',
  imports: 'Imports',
  functions: 'Functions',
  'pipeline-parameters': 'Pipeline parameters',
  'pipeline-metrics': 'Pipeline metrics',
  skip: 'Skip'
};

const ROLE_TAGS: ReadonlySet<string> = new Set([
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics',
  'skip'
]);
const STEP_PREFIXES = ['step:', 'block:'];
const OPTION_PREFIXES = ['prev:', 'limit:', 'image:', 'cache:', 'timeout:', 'retries:'];

const RESOURCE_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;
const QUANTITY_RE = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
const DURATION_RE = /^(\d+(\.\d+)?|\.\d+)([smh]?)$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A cell's role and step options as its tags say. */
export interface CellRole {
  kind: CellKind;
  /** Step name as tagged (kind `step` only). */
  name?: string;
  /** Explicit upstream steps (`prev:`), in tag order. */
  prev: string[];
  /** Resource limits (`limit:<resource>:<value>`), e.g. {memory: '2Gi'}. */
  limits: Record<string, string>;
  image?: string;
  /** undefined: the pipeline's cache policy. */
  cache?: boolean;
  /** As written after `timeout:` (seconds, or with an s/m/h suffix). */
  timeout?: string;
  retries?: number;
}

/** A tag the parser could not accept (malformed) or does not know (ignored, a warning). */
export interface TagProblem {
  severity: 'error' | 'warning';
  code: 'invalid-tag' | 'unknown-tag' | 'conflicting-tags';
  message: string;
  tag: string;
}

export interface ParsedTags {
  role: CellRole;
  problems: TagProblem[];
  /** Tags outside the vocabulary (kept untouched when the role is written back). */
  other: string[];
  /** True when the step name came from the old `block:` prefix. */
  usesBlockPrefix: boolean;
}

/** An empty role: no tags of ours. */
export function emptyRole(kind: CellKind = 'none'): CellRole {
  return { kind, prev: [], limits: {} };
}

/** True for a tag of our vocabulary (a role, a step or a step option). */
export function isVocabularyTag(tag: string): boolean {
  const t = tag.trim();
  if (ROLE_TAGS.has(t)) {
    return true;
  }
  return [...STEP_PREFIXES, ...OPTION_PREFIXES].some(p => t.startsWith(p));
}

function hasSpace(value: string): boolean {
  return /\s/.test(value);
}

/** Interpret one cell's tags; problems are collected, never thrown. */
export function parseTags(tags: readonly unknown[] | undefined | null): ParsedTags {
  const role = emptyRole();
  const problems: TagProblem[] = [];
  const other: string[] = [];
  const roles: string[] = [];
  let usesBlockPrefix = false;
  const bad = (tag: string, expected: string) =>
    problems.push({
      severity: 'error',
      code: 'invalid-tag',
      message: `malformed tag '${tag}': expected ${expected}`,
      tag
    });

  for (const raw of tags ?? []) {
    if (typeof raw !== 'string') {
      problems.push({
        severity: 'error',
        code: 'invalid-tag',
        message: `tag ${JSON.stringify(raw)} is not a string`,
        tag: String(raw)
      });
      continue;
    }
    const tag = raw.trim();
    if (!tag) {
      continue;
    }
    if (ROLE_TAGS.has(tag)) {
      roles.push(tag);
      continue;
    }
    const colon = tag.indexOf(':');
    const prefix = colon >= 0 ? tag.slice(0, colon + 1) : '';
    const value = colon >= 0 ? tag.slice(colon + 1) : '';
    if (STEP_PREFIXES.includes(prefix)) {
      if (!value || hasSpace(value)) {
        bad(tag, `a step name: write ${prefix}<name>`);
        continue;
      }
      roles.push(tag);
      if (role.name === undefined) {
        role.name = value;
        usesBlockPrefix = prefix === 'block:';
      }
      continue;
    }
    if (OPTION_PREFIXES.includes(prefix)) {
      parseOption(role, tag, prefix, value, bad);
      continue;
    }
    other.push(raw);
  }
  if (roles.length > 1) {
    problems.push({
      severity: 'error',
      code: 'conflicting-tags',
      message:
        'a cell can have only one of imports, functions, pipeline-parameters, pipeline-metrics, ' +
        `skip or step:<name>; this one has ${roles.join(', ')}`,
      tag: roles[1]
    });
  }
  if (roles.length) {
    const first = roles[0];
    role.kind = ROLE_TAGS.has(first) ? (first as CellKind) : 'step';
    if (role.kind !== 'step') {
      delete role.name;
    }
  }
  return { role, problems, other, usesBlockPrefix };
}

function parseOption(
  role: CellRole,
  tag: string,
  prefix: string,
  value: string,
  bad: (tag: string, expected: string) => void
): void {
  switch (prefix) {
    case 'prev:':
      if (!value || hasSpace(value)) {
        return bad(tag, 'prev:<step name>');
      }
      if (!role.prev.includes(value)) {
        role.prev.push(value);
      }
      return;
    case 'limit:': {
      const at = value.lastIndexOf(':');
      const resource = at >= 0 ? value.slice(0, at) : '';
      const quantity = at >= 0 ? value.slice(at + 1) : '';
      if (!resource || !quantity) {
        return bad(tag, 'limit:<resource>:<value>, e.g. limit:memory:2Gi');
      }
      const err = validateLimit(resource, quantity);
      if (err) {
        return bad(tag, err);
      }
      role.limits[resource] = quantity;
      return;
    }
    case 'image:':
      if (!value || hasSpace(value)) {
        return bad(tag, 'image:<image reference>');
      }
      role.image = value;
      return;
    case 'cache:':
      if (value !== 'enabled' && value !== 'disabled') {
        return bad(tag, 'cache:enabled or cache:disabled');
      }
      role.cache = value === 'enabled';
      return;
    case 'timeout:':
      if (parseDuration(value) === null) {
        return bad(tag, 'timeout:<seconds> (a positive number, optionally with s, m or h)');
      }
      role.timeout = value;
      return;
    case 'retries:':
      if (!/^\d+$/.test(value)) {
        return bad(tag, 'retries:<n> (a whole number, 0 or more)');
      }
      role.retries = parseInt(value, 10);
      return;
  }
}

/** Seconds from a `timeout:` value (`90`, `1.5m`, `2h`), or null when malformed. */
export function parseDuration(value: string): number | null {
  const m = DURATION_RE.exec(value.trim());
  if (!m) {
    return null;
  }
  const n = parseFloat(m[1]);
  if (!(n > 0)) {
    return null;
  }
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };
  return n * unit[m[3]];
}

/** Why a resource limit is invalid, or null when it is fine. */
export function validateLimit(resource: string, quantity: string): string | null {
  if (!RESOURCE_RE.test(resource)) {
    return `a Kubernetes resource name (cpu, memory, nvidia.com/gpu), not '${resource}'`;
  }
  if (!QUANTITY_RE.test(quantity)) {
    return `a Kubernetes quantity (e.g. 2, 500m, 4Gi), not '${quantity}'`;
  }
  return null;
}

/** The Kubernetes name a tagged step name maps to (as the converter does: lowercase, '_' -> '-'). */
export function k8sName(raw: string): string {
  return raw.trim().toLowerCase().replace(/_/g, '-');
}

/** A valid step name made from any text ('Load Data' -> 'load-data'). */
export function sanitizeStepName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
}

/**
 * Why a step name is not usable, or null when it is. A name is accepted when the converter's
 * mapping (lowercase, '_' -> '-') gives an RFC 1123 label: 1-63 characters of a-z, 0-9 and '-',
 * starting and ending with a letter or digit.
 */
export function validateStepName(raw: string): string | null {
  if (!raw.trim()) {
    return 'a step needs a name';
  }
  if (hasSpace(raw.trim())) {
    return `step name '${raw}' has a space; use '-' instead (e.g. '${sanitizeStepName(raw)}')`;
  }
  const name = k8sName(raw);
  if (name.length > 63) {
    return `step name '${raw}' is longer than 63 characters`;
  }
  if (!LABEL_RE.test(name)) {
    const hint = sanitizeStepName(raw);
    return (
      `step name '${raw}' must be 1-63 characters of a-z, 0-9 and '-', starting and ending ` +
      `with a letter or digit` + (hint ? ` (e.g. '${hint}')` : '')
    );
  }
  return null;
}

/**
 * The tags that say `role`, keeping every tag outside our vocabulary from `existing` (in its
 * order, after ours). Step options are written only for steps. A cell that used the old
 * `block:` prefix keeps it; an unchanged timeout keeps the form it was written in.
 */
export function roleToTags(role: CellRole, existing: readonly unknown[] = []): string[] {
  const parsed = parseTags(existing);
  const tags: string[] = [];
  if (role.kind === 'step') {
    const name = (role.name ?? '').trim();
    if (name) {
      tags.push(`${parsed.usesBlockPrefix ? 'block:' : 'step:'}${name}`);
    }
    for (const p of role.prev) {
      const v = p.trim();
      if (v && !tags.includes(`prev:${v}`)) {
        tags.push(`prev:${v}`);
      }
    }
    for (const [resource, quantity] of Object.entries(role.limits)) {
      if (resource.trim() && `${quantity}`.trim()) {
        tags.push(`limit:${resource.trim()}:${`${quantity}`.trim()}`);
      }
    }
    if (role.image && role.image.trim()) {
      tags.push(`image:${role.image.trim()}`);
    }
    if (role.cache !== undefined) {
      tags.push(`cache:${role.cache ? 'enabled' : 'disabled'}`);
    }
    if (role.timeout !== undefined && `${role.timeout}`.trim()) {
      tags.push(`timeout:${`${role.timeout}`.trim()}`);
    }
    if (role.retries !== undefined && role.retries !== null && !Number.isNaN(role.retries)) {
      tags.push(`retries:${role.retries}`);
    }
  } else if (role.kind !== 'none') {
    tags.push(role.kind);
  }
  const others = parsed.other.filter(t => !tags.includes(t));
  return [...tags, ...others];
}

/**
 * The tags of every cell after giving cell `index` the role `role`: that cell's tags are
 * rewritten, and renaming a step also renames the `prev:` tags naming it in other cells, unless
 * another cell still opens a step of the old name. Returns the new tag lists (same length).
 */
export function applyRole(allTags: readonly (readonly unknown[])[], index: number, role: CellRole): string[][] {
  const out = allTags.map(tags => tags.filter((t): t is string => typeof t === 'string'));
  const old = parseTags(allTags[index] ?? []).role;
  out[index] = roleToTags(role, allTags[index] ?? []);
  const oldName = old.kind === 'step' && old.name ? k8sName(old.name) : null;
  const newName = role.kind === 'step' && role.name ? role.name.trim() : null;
  if (!oldName || !newName || k8sName(newName) === oldName) {
    return out;
  }
  const roles = allTags.map(tags => parseTags(tags).role);
  if (roles.some((r, i) => i !== index && r.kind === 'step' && r.name && k8sName(r.name) === oldName)) {
    return out; // another cell still opens a step of that name
  }
  roles.forEach((r, i) => {
    if (i !== index && r.prev.some(p => k8sName(p) === oldName)) {
      const prev = r.prev.map(p => (k8sName(p) === oldName ? newName : p));
      out[i] = roleToTags({ ...r, prev }, allTags[i]);
    }
  });
  return out;
}

/** Problems of a role as the editor would write it (empty when it is fine). */
export function validateRole(role: CellRole): string[] {
  const out: string[] = [];
  if (role.kind !== 'step') {
    return out;
  }
  const nameErr = validateStepName(role.name ?? '');
  if (nameErr) {
    out.push(nameErr);
  }
  for (const [resource, quantity] of Object.entries(role.limits)) {
    const err = validateLimit(resource, quantity);
    if (err) {
      out.push(`limit ${resource}: expected ${err}`);
    }
  }
  if (role.image !== undefined && role.image.trim() && hasSpace(role.image.trim())) {
    out.push('an image reference has no spaces');
  }
  if (role.timeout !== undefined && role.timeout.trim() && parseDuration(role.timeout) === null) {
    out.push(`timeout '${role.timeout}': a positive number of seconds, optionally with s, m or h`);
  }
  if (role.retries !== undefined && !(Number.isInteger(role.retries) && role.retries >= 0)) {
    out.push('retries: a whole number, 0 or more');
  }
  return out;
}

/** Whether two tag lists are identical (same tags, same order), to avoid needless metadata writes. */
export function sameTags(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) {
    return false;
  }
  return a.every((t, i) => t === b[i]);
}
