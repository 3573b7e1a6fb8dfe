/** Schedules as the REST API sends them (jupyter_kf/models.py: Schedule, ScheduleFire, ScheduleRequest). */
import { RunStatus } from './types';

export type MissedPolicy = 'run_once' | 'skip';
export type OverlapPolicy = 'skip' | 'queue' | 'allow';

export interface ScheduleFire {
  due: string;
  state: 'claimed' | 'queued' | 'started' | 'skipped' | 'missed' | 'failed';
  run: string | null;
  run_status: RunStatus | null;
  error: string | null;
  at: string;
}

export interface Schedule {
  id: string;
  name: string;
  notebook: string;
  cron: string | null;
  interval: number | null;
  timezone: string;
  backend: string;
  parameters: Record<string, unknown>;
  cache: boolean;
  missed: MissedPolicy;
  overlap: OverlapPolicy;
  paused: boolean;
  created_at: string;
  updated_at: string;
  next_due: string[];
  last: ScheduleFire | null;
  history: ScheduleFire[];
  /** Set when the cluster's own scheduler runs it (`jupyter kf schedule deploy`). */
  deployed: { target: 'argo' | 'kfp'; namespace: string; name: string; deployed_at: string } | null;
}

export interface ScheduleRequest {
  notebook: string;
  name?: string;
  cron?: string;
  interval?: number;
  timezone?: string;
  backend?: string;
  parameters?: Record<string, unknown>;
  cache?: boolean;
  missed?: MissedPolicy;
  overlap?: OverlapPolicy;
}

/** `0 3 * * *` (Europe/Berlin) or `every 15 min`. */
export function describeTiming(s: Pick<Schedule, 'cron' | 'interval' | 'timezone'>): string {
  if (s.cron) {
    return s.timezone && s.timezone !== 'UTC' ? `${s.cron} (${s.timezone})` : `${s.cron} (UTC)`;
  }
  const sec = s.interval ?? 0;
  if (sec % 86400 === 0) {
    return `every ${sec / 86400} d`;
  }
  if (sec % 3600 === 0) {
    return `every ${sec / 3600} h`;
  }
  return `every ${Math.round(sec / 60)} min`;
}

/** A due time in the browser's local time. */
export function localTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '-';
}
