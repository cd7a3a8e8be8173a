import type { AutoscalePoint, BudgetPoint } from '../../src/dashboard/memory.ts';
import type { GroupDetail, OverviewRow, RowState } from '../../src/dashboard/views.ts';

export type { AutoscalePoint, BudgetPoint, GroupDetail, OverviewRow, RowState };

export interface Who {
  user: string;
  csrf?: string;
  readOnly: boolean;
  mode: 'operator' | 'local';
}

export interface Distribution {
  count: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
  buckets: { le: number | null; count: number }[];
}

export type GroupView = GroupDetail & { actions: boolean; latency: Distribution };

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let csrf: string | undefined;
export const setCsrf = (token: string | undefined) => {
  csrf = token;
};

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(method === 'POST' && csrf ? { 'x-csrf-token': csrf } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, data.error ?? res.statusText);
  return data as T;
}

const seg = encodeURIComponent;

export const api = {
  whoami: () => call<Who>('GET', 'api/whoami'),
  login: (token: string) => call<{ user: string; csrf: string }>('POST', 'api/session', { token }),
  logout: () => call<object>('POST', 'api/logout'),
  overview: (q: { namespace?: string; state?: string; q?: string }) => {
    const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]);
    return call<{ rows: OverviewRow[]; totals: Record<RowState, number>; namespaces: string[] }>(
      'GET',
      `api/overview${params.size ? `?${params}` : ''}`,
    );
  },
  group: (ns: string, name: string) => call<GroupView>('GET', `api/groups/${seg(ns)}/${seg(name)}`),
  autoscaling: (ns: string, name: string) =>
    call<{ apps: Record<string, AutoscalePoint[]>; budget: BudgetPoint[] }>(
      'GET',
      `api/groups/${seg(ns)}/${seg(name)}/autoscaling`,
    ),
  workload: (ns: string, name: string, ref: { kind: string; namespace: string; name: string }) =>
    call<{
      replicaSets: { name: string; replicas: number; ready: number }[];
      pods: { name: string; owner?: string; phase?: string; ready: boolean; node?: string }[];
      note?: string;
    }>(
      'GET',
      `api/groups/${seg(ns)}/${seg(name)}/workload?${new URLSearchParams({ kind: ref.kind, namespace: ref.namespace, name: ref.name })}`,
    ),
  act: (ns: string, name: string, action: 'reconcile' | 'suspend' | 'resume') =>
    call<{ ok: boolean }>('POST', `api/groups/${seg(ns)}/${seg(name)}/${action}`, {}),
  latency: () => call<{ groups: { group: string; distribution: Distribution }[] }>('GET', 'api/latency'),
};

/** Calls `onChange` (debounced) whenever the server says something changed; returns a closer. */
export function subscribe(onChange: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const source = new EventSource('api/stream');
  source.addEventListener('change', () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, 100);
  });
  return () => {
    if (timer) clearTimeout(timer);
    source.close();
  };
}
