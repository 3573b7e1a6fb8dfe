/** The schedules routes of the REST API (`schedules`, `schedules/{id}`, `/pause`, `/resume`). */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError } from './api';
import { Schedule, ScheduleRequest } from './scheduleTypes';

export class ScheduleApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private async request<T>(path: string, init: RequestInit = {}, query: Record<string, string> = {}): Promise<T> {
    let url = URLExt.join(this.settings.baseUrl, 'jupyter-kf/api', path);
    const qs = URLExt.objectToQueryString(query);
    if (qs && qs !== '?') {
      url += qs;
    }
    if (init.body !== undefined) {
      init.headers = { 'Content-Type': 'application/json', ...(init.headers ?? {}) };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(`cannot reach the jupyter-kf server extension: ${String(error)}`, 0);
    }
    const text = await response.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = (data && typeof data.message === 'string' && data.message) || `${response.status} ${response.statusText}`;
      throw new ApiError(message, response.status, data?.problems ?? [], data?.field ?? null);
    }
    return data as T;
  }

  /** The schedules of one notebook, or of every notebook under the server root. */
  async list(notebook?: string): Promise<Schedule[]> {
    const data = await this.request<{ schedules: Schedule[] }>('schedules', {}, notebook ? { notebook } : {});
    return data.schedules;
  }

  create(request: ScheduleRequest): Promise<Schedule> {
    return this.request('schedules', { method: 'POST', body: JSON.stringify(request) });
  }

  pause(id: string): Promise<Schedule> {
    return this.request(`schedules/${encodeURIComponent(id)}/pause`, { method: 'POST' });
  }

  resume(id: string): Promise<Schedule> {
    return this.request(`schedules/${encodeURIComponent(id)}/resume`, { method: 'POST' });
  }

  async remove(id: string): Promise<void> {
    await this.request(`schedules/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
}
