import {
  applyRole,
  emptyRole,
  parseDuration,
  parseTags,
  roleToTags,
  sanitizeStepName,
  validateRole,
  validateStepName
} from '../src/tags';

describe('parseTags', () => {
  it('reads every role tag', () => {
    for (const kind of ['imports', 'functions', 'pipeline-parameters', 'pipeline-metrics', 'skip']) {
      const { role, problems } = parseTags([kind]);
      expect(role.kind).toBe(kind);
      expect(role.name).toBeUndefined();
      expect(problems).toEqual([]);
    }
  });

  it('reads a step with all its options', () => {
    const { role, problems, other } = parseTags([
      'step:train',
      'prev:load',
      'prev:clean',
      'limit:memory:2Gi',
      'limit:nvidia.com/gpu:1',
      'image:python:3.11-slim',
      'cache:disabled',
      'timeout:5m',
      'retries:2',
      'hide-input'
    ]);
    expect(problems).toEqual([]);
    expect(role).toEqual({
      kind: 'step',
      name: 'train',
      prev: ['load', 'clean'],
      limits: { memory: '2Gi', 'nvidia.com/gpu': '1' },
      image: 'python:3.11-slim',
      cache: false,
      timeout: '5m',
      retries: 2
    });
    expect(other).toEqual(['hide-input']);
  });

  it('accepts the old block: prefix as a step', () => {
    const parsed = parseTags(['block:load_data']);
    expect(parsed.role.kind).toBe('step');
    expect(parsed.role.name).toBe('load_data');
    expect(parsed.usesBlockPrefix).toBe(true);
  });

  it('reports malformed tags of the vocabulary and keeps going', () => {
    const { role, problems } = parseTags(['step:', 'limit:memory', 'cache:maybe', 'timeout:-1', 'retries:x', 'step:a']);
    expect(role.kind).toBe('step');
    expect(role.name).toBe('a');
    expect(problems.map(p => p.tag)).toEqual(['step:', 'limit:memory', 'cache:maybe', 'timeout:-1', 'retries:x']);
    expect(problems.every(p => p.severity === 'error' && p.code === 'invalid-tag')).toBe(true);
  });

  it('reports two roles on one cell and keeps the first', () => {
    const { role, problems } = parseTags(['imports', 'step:a']);
    expect(role.kind).toBe('imports');
    expect(problems).toHaveLength(1);
    expect(problems[0].code).toBe('conflicting-tags');
    expect(problems[0].message).toContain('imports, step:a');
  });

  it('treats a cell without tags (or with others only) as none', () => {
    expect(parseTags(undefined).role.kind).toBe('none');
    expect(parseTags(['parameters', 'hide-input']).role.kind).toBe('none');
    expect(parseTags([42]).problems[0].message).toContain('not a string');
  });
});

describe('roleToTags', () => {
  it('writes a step with its options in a stable order', () => {
    const role = {
      ...emptyRole('step'),
      name: 'train',
      prev: ['load'],
      limits: { cpu: '2' },
      image: 'img:1',
      cache: true,
      timeout: '90',
      retries: 1
    };
    expect(roleToTags(role)).toEqual([
      'step:train',
      'prev:load',
      'limit:cpu:2',
      'image:img:1',
      'cache:enabled',
      'timeout:90',
      'retries:1'
    ]);
  });

  it('keeps tags outside the vocabulary and replaces ours', () => {
    const existing = ['hide-input', 'step:old', 'prev:x', 'papermill-tag', 'limit:memory:1Gi'];
    expect(roleToTags(emptyRole('imports'), existing)).toEqual(['imports', 'hide-input', 'papermill-tag']);
    expect(roleToTags(emptyRole('none'), existing)).toEqual(['hide-input', 'papermill-tag']);
  });

  it('round-trips: parse then write gives the same tags', () => {
    const cases = [
      ['step:a', 'prev:b', 'limit:memory:2Gi', 'image:x/y:1', 'cache:disabled', 'timeout:2h', 'retries:0'],
      ['block:legacy', 'prev:a'],
      ['pipeline-parameters'],
      ['skip', 'keep-me']
    ];
    for (const tags of cases) {
      expect(roleToTags(parseTags(tags).role, tags)).toEqual(tags);
    }
  });

  it('does not write step options for other kinds', () => {
    const role = { ...emptyRole('functions'), prev: ['a'], image: 'img' };
    expect(roleToTags(role, [])).toEqual(['functions']);
  });
});

describe('step names', () => {
  it('accepts RFC 1123 labels and names the converter maps to one', () => {
    expect(validateStepName('train')).toBeNull();
    expect(validateStepName('load-data-2')).toBeNull();
    expect(validateStepName('Load_Data')).toBeNull(); // -> load-data
    expect(validateStepName('a'.repeat(63))).toBeNull();
  });

  it('refuses the rest with a hint', () => {
    expect(validateStepName('')).toContain('needs a name');
    expect(validateStepName('load data')).toContain("'load-data'");
    expect(validateStepName('-lead')).toContain('starting and ending');
    expect(validateStepName('trail-')).toContain('starting and ending');
    expect(validateStepName('a.b')).toContain("'a-b'");
    expect(validateStepName('a'.repeat(64))).toContain('63');
  });

  it('sanitizes any text into a label', () => {
    expect(sanitizeStepName('  Load Data!! ')).toBe('load-data');
    expect(sanitizeStepName('___')).toBe('');
  });
});

describe('validateRole and durations', () => {
  it('lists every problem of a step role', () => {
    const errs = validateRole({
      ...emptyRole('step'),
      name: 'Bad Name',
      limits: { memory: 'lots' },
      timeout: '5 minutes',
      retries: -1
    });
    expect(errs).toHaveLength(4);
    expect(validateRole({ ...emptyRole('step'), name: 'ok', limits: { cpu: '500m' }, timeout: '1.5m' })).toEqual([]);
    expect(validateRole(emptyRole('skip'))).toEqual([]);
  });

  it('parses durations', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('1.5m')).toBe(90);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('0')).toBeNull();
    expect(parseDuration('5 min')).toBeNull();
  });
});

describe('applyRole', () => {
  const nb = [['imports'], ['step:load', 'keep'], ['x'], ['step:train', 'prev:load'], ['step:eval', 'prev:Load', 'prev:train']];

  it('rewrites only the edited cell when the name is unchanged', () => {
    const out = applyRole(nb, 1, { ...parseTags(nb[1]).role, image: 'img:1' });
    expect(out[1]).toEqual(['step:load', 'image:img:1', 'keep']);
    expect(out.filter((_, i) => i !== 1)).toEqual(nb.filter((_, i) => i !== 1));
  });

  it('renames prev: references when a step is renamed', () => {
    const out = applyRole(nb, 1, { ...parseTags(nb[1]).role, name: 'fetch' });
    expect(out[1]).toEqual(['step:fetch', 'keep']);
    expect(out[3]).toEqual(['step:train', 'prev:fetch']);
    expect(out[4]).toEqual(['step:eval', 'prev:fetch', 'prev:train']);
  });

  it('leaves references alone while another cell still opens the old step', () => {
    const twice = [['step:a'], ['skip'], ['step:a'], ['step:b', 'prev:a']];
    const out = applyRole(twice, 2, { ...emptyRole('step'), name: 'c' });
    expect(out[2]).toEqual(['step:c']);
    expect(out[3]).toEqual(['step:b', 'prev:a']);
  });

  it('turning a step into another kind keeps references (the converter reports them)', () => {
    const out = applyRole(nb, 1, emptyRole('skip'));
    expect(out[1]).toEqual(['skip', 'keep']);
    expect(out[3]).toEqual(['step:train', 'prev:load']);
  });
});
