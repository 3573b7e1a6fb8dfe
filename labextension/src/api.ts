/**
 * The one place that talks to the server: the jupyter-kf REST API under `{baseUrl}jupyter-kf/api/`
 * (jupyter_kf/openapi.yaml). ServerConnection adds the token/cookie and the XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  BackendInfo,
  CompileResult,
  Problem,
  Run,
  RunList,
  RunRequest,
  StepLog,
  StepNotebook
} from './types';
import { RunDiff } from './reuseLogic';

/** An API answer that was not 2xx, with the server's message and pipeline problems if any. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problems: Problem[] = [],
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** One call of the jupyter-kf REST API (`path` below `jupyter-kf/api`): JSON in and out, errors as
 * {@link ApiError} with the server's message, problems and field. Shared by every API client. */
export async function apiRequest<T>(
settings: ServerConnection.ISettings,
path: string,
init: RequestInit = {},
query: Record<string, string> = {}
): Promise<T> {
  let url = URLExt.join(settings.baseUrl, 'jupyter-kf/api', path);
  const qs = URLExt.objectToQueryString(query);
  if (qs && qs !== '?') {
    url += qs;
  }
  if (init.body !== undefined) {
    init.headers = { 'Content-Type': 'application/json', ...(init.headers ?? {}) };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(`cannot reach the jupyter-kf server extension: ${String(error)}`, 0);
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      (data && typeof data.message === 'string' && data.message) ||
      (response.status === 404 && !data
        ? 'the jupyter-kf server extension is not enabled (404)'
        : `${response.status} ${response.statusText}`);
    throw new ApiError(message, response.status, data?.problems ?? [], data?.field ?? null);
  }
  return data as T;
}

export class KfApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private request<T>(path: string, init: RequestInit = {}, query: Record<string, string> = {}): Promise<T> {
    return apiRequest<T>(this.settings, path, init, query);
  }

  /** Compile unsaved notebook JSON (`content`) or a saved notebook (`notebook` path). */
  compile(source: { content: unknown } | { notebook: string }): Promise<CompileResult> {
    return this.request('compile', { method: 'POST', body: JSON.stringify(source) });
  }

  async backends(): Promise<BackendInfo[]> {
    const data = await this.request<{ backends: BackendInfo[] }>('backends');
    return data.backends;
  }

  /** The notebook's runs, newest first, and a cursor for `watchRuns`. */
  listRuns(notebook?: string, limit = 20): Promise<RunList> {
    const query: Record<string, string> = { limit: String(limit) };
    if (notebook) {
      query.notebook = notebook;
    }
    return this.request('runs', {}, query);
  }

  /**
   * Long polling: the runs changed after `since` (a cursor), answered as soon as one changes or
   * after `wait` seconds with none (the server holds the request; nothing is hammered).
   */
  watchRuns(notebook: string, since: string, wait: number, signal?: AbortSignal): Promise<RunList> {
    return this.request('runs', { signal }, { notebook, since, wait: String(wait), limit: '50' });
  }

  startRun(request: RunRequest): Promise<Run> {
    return this.request('runs', { method: 'POST', body: JSON.stringify(request) });
  }

  getRun(id: string): Promise<Run> {
    return this.request(`runs/${encodeURIComponent(id)}`);
  }

  cancelRun(id: string): Promise<Run> {
    return this.request(`runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  }

  retryRun(id: string, overrides: { cache?: boolean } = {}): Promise<Run> {
    return this.request(`runs/${encodeURIComponent(id)}/retry`, {
      method: 'POST',
      body: JSON.stringify(overrides)
    });
  }

  /** What differs from run `a` to run `b` (parameters, metrics, step code, data files, environment). */
  diffRuns(a: string, b: string): Promise<RunDiff> {
    return this.request(`runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`);
  }

  stepLog(id: string, step: string): Promise<StepLog> {
    return this.request(`runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/log`);
  }

  stepNotebook(id: string, step: string): Promise<StepNotebook> {
    return this.request(`runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/notebook`);
  }
}
