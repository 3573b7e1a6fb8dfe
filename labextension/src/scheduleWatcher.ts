/**
 * JupyterLab notifications for scheduled runs while Lab is open: polls the schedules under the
 * server root and notifies when a due time's run ends, or a due time could not start its run.
 * Runs of the notebook shown in the panel are left to the panel, which notifies them already.
 */
import { Notification } from '@jupyterlab/apputils';

import { ScheduleApi } from './scheduleApi';

const POLL_MS = 15000;
const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export class ScheduleWatcher {
  private seen = new Map<string, string>(); // `${schedule}@${due}` -> last known state/status
  private primed = false;
  private timer: number | null = null;

  constructor(
    private readonly api: ScheduleApi,
    private readonly shownInPanel: () => string | null
  ) {}

  start(): void {
    void this.poll();
    this.timer = window.setInterval(() => void this.poll(), POLL_MS);
  }

  dispose(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
    }
  }

  private async poll(): Promise<void> {
    let schedules;
    try {
      schedules = await this.api.list();
    } catch {
      return; // the extension may be off; the panel reports that
    }
    for (const s of schedules) {
      for (const f of s.history) {
        const key = `${s.id}@${f.due}`;
        const now = f.run_status ?? f.state;
        const before = this.seen.get(key);
        this.seen.set(key, now);
        if (!this.primed || before === now || s.notebook === this.shownInPanel()) {
          continue;
        }
        if (f.state === 'failed') {
          Notification.error(`Schedule ${s.name}: could not run ${s.notebook}: ${f.error ?? 'unknown error'}`, {
            autoClose: false
          });
        } else if (f.run && f.run_status && FINISHED.has(f.run_status)) {
          const text = `Scheduled run ${f.run} of ${s.notebook} ${f.run_status}.`;
          if (f.run_status === 'succeeded') {
            Notification.success(text, { autoClose: 5000 });
          } else {
            Notification.error(text, { autoClose: false });
          }
        }
      }
    }
    this.primed = true;
  }
}
