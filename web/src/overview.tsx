import { useEffect, useState } from 'preact/hooks';
import { api, type OverviewRow, type RowState, subscribe } from './api.ts';
import { ago, ms, tone } from './format.ts';

const STATES: RowState[] = ['Ready', 'Failing', 'Progressing', 'Suspended', 'Unknown'];

function Row({ r }: { r: OverviewRow }) {
  const href =
    r.kind === 'AppGroup'
      ? `#/groups/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`
      : undefined;
  return (
    <tr data-testid={`row-${r.kind}-${r.namespace}-${r.name}`} data-state={r.state}>
      <td>{r.kind}</td>
      <td>{r.namespace}</td>
      <td>{href ? <a href={href}>{r.name}</a> : r.name}</td>
      <td>
        <span class={`badge ${tone(r.state)}`}>{r.state}</span>
      </td>
      <td title={r.ready?.message}>
        {r.ready ? `${r.ready.status}${r.ready.reason ? ` · ${r.ready.reason}` : ''}` : '—'}
        {r.ready?.status === 'False' && r.ready.message ? <div class="sub">{r.ready.message}</div> : null}
      </td>
      <td>{r.sync ?? '—'}</td>
      <td title={r.healthMessage}>
        {r.health ? <span class={`badge ${tone(r.health)}`}>{r.health}</span> : '—'}
      </td>
      <td>
        <code>{r.revision ?? '—'}</code>
        {r.commitTime ? <div class="sub">committed {ago(r.commitTime)}</div> : null}
      </td>
      <td>{r.lastSync ? `${ago(r.lastSync.at)} (${ms(r.lastSync.durationMs)})` : '—'}</td>
    </tr>
  );
}

/** Every group and source the viewer may read, filterable by namespace and state, searchable by name. */
export function Overview() {
  const [namespace, setNamespace] = useState('');
  const [state, setState] = useState('');
  const [q, setQ] = useState('');
  const [data, setData] = useState<Awaited<ReturnType<typeof api.overview>> | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const load = () =>
      api.overview({ namespace, state, q }).then(
        (d) => {
          setData(d);
          setError(undefined);
        },
        (e: Error) => setError(e.message),
      );
    void load();
    return subscribe(() => void load());
  }, [namespace, state, q]);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {data ? (
        <ul class="totals" aria-label="Totals by state">
          {STATES.map((s) => (
            <li key={s}>
              <button
                type="button"
                class={`badge ${tone(s)}${state === s ? ' selected' : ''}`}
                aria-pressed={state === s}
                onClick={() => setState(state === s ? '' : s)}
              >
                {s} <strong data-testid={`total-${s}`}>{data.totals[s]}</strong>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div class="filters">
        <label>
          Namespace{' '}
          <select value={namespace} onChange={(e) => setNamespace((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {data?.namespaces.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search{' '}
          <input
            type="search"
            value={q}
            placeholder="name"
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {data ? (
        <table class="grid" data-testid="overview">
          <caption class="sr-only">Groups and sources</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Ready</th>
              <th scope="col">Sync</th>
              <th scope="col">Health</th>
              <th scope="col">Revision</th>
              <th scope="col">Last sync</th>
            </tr>
          </thead>
          <tbody>
            {data.rows.map((r) => (
              <Row key={`${r.kind}/${r.namespace}/${r.name}`} r={r} />
            ))}
          </tbody>
        </table>
      ) : (
        <p class="loading">Loading…</p>
      )}
      {data && data.rows.length === 0 ? <p>Nothing to show: no objects you may read match.</p> : null}
    </section>
  );
}
