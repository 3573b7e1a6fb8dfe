/**
 * Run-form parameter values: typed text -> JSON value by the parameter's type, and back.
 */
import { Parameter } from './types';

/** The value typed in the form -> the JSON value sent, by the parameter's type (or an error). */
export function coerceParameter(p: Parameter, text: string): { value?: unknown; error?: string } {
  const t = text.trim();
  switch (p.type) {
    case 'int':
      return /^[-+]?\d+$/.test(t) ? { value: parseInt(t, 10) } : { error: `${p.name}: a whole number` };
    case 'float': {
      const v = Number(t);
      return t && !Number.isNaN(v) ? { value: v } : { error: `${p.name}: a number` };
    }
    case 'bool':
      return t === 'true' || t === 'false' ? { value: t === 'true' } : { error: `${p.name}: true or false` };
    case 'str':
      return { value: text };
    default:
      try {
        return { value: JSON.parse(t) };
      } catch {
        return { error: `${p.name}: JSON (${p.type})` };
      }
  }
}

/** How a default value is shown in the form. */
export function showParameter(p: Parameter): string {
  if (p.type === 'str') {
    return String(p.default ?? '');
  }
  if (p.type === 'float' && typeof p.default === 'number' && Number.isInteger(p.default)) {
    return p.default.toFixed(1); // 2.0 stays a float in the form
  }
  return JSON.stringify(p.default);
}
