/** Sweeps over REST (`sweeps`, `sweeps/{id}`, `sweeps/{id}/cancel`) and the `-p` grammar. */
import { ServerConnection } from '@jupyterlab/services';

import { apiRequest } from './api';

export interface SweepParameter {
  name: string;
  choices?: unknown[] | null;
  low?: number | null;
  high?: number | null;
  log?: boolean;
  step?: number | null;
}

export interface SweepRequest {
  notebook: string;
  space: SweepParameter[];
  objective: string;
  direction: 'max' | 'min';
  algorithm: 'grid' | 'random' | 'tpe';
  trials?: number | null;
  parallel?: number | null;
}

export interface Trial {
  number: number;
  run: string | null;
  parameters: Record<string, unknown>;
  status: 'running' | 'succeeded' | 'failed' | 'pruned' | 'cancelled';
  value: number | null;
  metrics: Record<string, unknown>;
  duration: number | null;
  error: string | null;
}

export interface Sweep {
  id: string;
  notebook: string;
  created_at: string;
  status: string;
  request: SweepRequest;
  budget: number | null;
  trials: Trial[];
  best: number | null;
  best_value: number | null;
  error: string | null;
}

/** One swept parameter from the CLI grammar: `A,B,C`, `LOW:HIGH`, `LOW:HIGH:log`, `LOW:HIGH:STEP`. */
export function parseSpec(name: string, text: string): { value?: SweepParameter; error?: string } {
  const t = text.trim();
  if (!t) {
    return { error: `${name}: empty` };
  }
  if (t.includes(':') && !t.includes(',')) {
    const parts = t.split(':').map(p => p.trim());
    const [low, high] = [Number(parts[0]), Number(parts[1])];
    if (parts.length < 2 || parts.length > 3 || !isFinite(low) || !isFinite(high) || parts[0] === '' || parts[1] === '') {
      return { error: `${name}: a range is LOW:HIGH, LOW:HIGH:log or LOW:HIGH:STEP` };
    }
    const value: SweepParameter = { name, low, high };
    if (parts.length === 3) {
      if (parts[2].toLowerCase() === 'log') {
        value.log = true;
      } else if (isFinite(Number(parts[2])) && parts[2] !== '') {
        value.step = Number(parts[2]);
      } else {
        return { error: `${name}: the third part is 'log' or a step` };
      }
    }
    return { value };
  }
  return { value: { name, choices: t.split(',').map(c => c.trim()) } };
}

export class SweepApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private request<T>(path: string, init: RequestInit = {}, query: Record<string, string> = {}): Promise<T> {
    return apiRequest<T>(this.settings, path, init, query);
  }

  async list(notebook: string): Promise<Sweep[]> {
    return (await this.request<{ sweeps: Sweep[] }>('sweeps', {}, { notebook })).sweeps;
  }

  start(request: SweepRequest): Promise<Sweep> {
    return this.request('sweeps', { method: 'POST', body: JSON.stringify(request) });
  }

  get(id: string): Promise<Sweep> {
    return this.request(`sweeps/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<Sweep> {
    return this.request(`sweeps/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  }
}
