/** The schedules routes of the REST API (`schedules`, `schedules/{id}`, `/pause`, `/resume`). */
import { ServerConnection } from '@jupyterlab/services';

import { apiRequest } from './api';
import { Schedule, ScheduleRequest } from './scheduleTypes';

export class ScheduleApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private request<T>(path: string, init: RequestInit = {}, query: Record<string, string> = {}): Promise<T> {
    return apiRequest<T>(this.settings, path, init, query);
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
