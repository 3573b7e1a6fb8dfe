/**
 * The run store of the notebook's folder: how much disk it holds, and pruning old runs (a dry run
 * first says what would go and how much; then the user confirms). REST: GET store, POST store/prune.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

export interface StoreUsage {
  runs: number;
  runs_bytes: number;
  snapshots: number;
  objects_bytes: number;
  bytes: number;
}

export interface PruneResult {
  dry_run: boolean;
  removed: string[];
  bytes: number;
  kept: Record<string, string>;
}

async function call<T>(path: string, init: RequestInit = {}, query = ''): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'jupyter-kf/api', path) + query;
  if (init.body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(data?.message ?? `HTTP ${response.status}`);
  }
  return data as T;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  for (const unit of units) {
    if (value < 1024 || unit === 'TB') {
      return unit === 'B' ? `${value} B` : `${value.toFixed(1)} ${unit}`;
    }
    value /= 1024;
  }
  return `${n} B`;
}

/** Store size and a "prune" action: keeps the newest `keep` runs of this notebook (and always
 * running runs, the latest successful one and runs that kept runs reuse from the cache). */
export function StoreSection(props: { notebook: string; keep?: number }): JSX.Element {
  const keep = props.keep ?? 5;
  const [usage, setUsage] = React.useState<StoreUsage | null>(null);
  const [plan, setPlan] = React.useState<PruneResult | null>(null);
  const [message, setMessage] = React.useState<string>('');
  const query = URLExt.objectToQueryString({ notebook: props.notebook });

  const refresh = React.useCallback(async () => {
    try {
      setUsage(await call<StoreUsage>('store', {}, query));
    } catch (error) {
      setMessage(String((error as Error).message ?? error));
    }
  }, [query]);
  React.useEffect(() => {
    void refresh();
  }, [refresh]);

  const prune = async (dryRun: boolean) => {
    try {
      const body = JSON.stringify({ notebook: props.notebook, keep, dry_run: dryRun });
      const result = await call<PruneResult>('store/prune', { method: 'POST', body });
      if (dryRun) {
        setPlan(result);
        setMessage(result.removed.length ? '' : 'nothing to prune');
      } else {
        setPlan(null);
        setMessage(`removed ${result.removed.length} run(s), freed ${formatBytes(result.bytes)}`);
        await refresh();
      }
    } catch (error) {
      setMessage(String((error as Error).message ?? error));
    }
  };

  return (
    <div className="jp-kf-store" data-testid="kf-store">
      <div data-testid="kf-store-size">
        {usage
          ? `${formatBytes(usage.bytes)}: ${usage.runs} run(s) ${formatBytes(usage.runs_bytes)}, snapshots ${formatBytes(usage.objects_bytes)}`
          : '…'}
      </div>
      {plan && plan.removed.length > 0 ? (
        <div data-testid="kf-store-plan">
          {`prune ${plan.removed.length} run(s), ${formatBytes(plan.bytes)}? `}
          <button className="jp-kf-link" data-testid="kf-store-prune-confirm" onClick={() => void prune(false)}>
            prune
          </button>{' '}
          <button className="jp-kf-link" onClick={() => setPlan(null)}>
            cancel
          </button>
        </div>
      ) : (
        <button
          className="jp-kf-link"
          data-testid="kf-store-prune"
          title={`Remove all but the newest ${keep} runs of this notebook (never a running run or its latest success)`}
          onClick={() => void prune(true)}
        >
          prune old runs…
        </button>
      )}
      {message && <div data-testid="kf-store-message">{message}</div>}
    </div>
  );
}
