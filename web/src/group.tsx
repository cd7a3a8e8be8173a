import { useEffect, useMemo, useState } from 'preact/hooks';
import { type AutoscalePoint, api, type BudgetPoint, type GroupView, subscribe } from './api.ts';
import { Chart, type Line } from './chart.tsx';
import { ago, ms, seconds, tone } from './format.ts';

type Workload = Awaited<ReturnType<typeof api.workload>>;

function TreeRow({ ns, name, node }: { ns: string; name: string; node: GroupView['tree'][number] }) {
  const [open, setOpen] = useState(false);
  const [workload, setWorkload] = useState<Workload | undefined>();
  const [error, setError] = useState<string | undefined>();
  const toggle = async () => {
    setOpen(!open);
    if (!open && !workload)
      await api
        .workload(ns, name, { kind: node.ref.kind, namespace: node.ref.namespace ?? '', name: node.ref.name })
        .then(setWorkload, (e: Error) => setError(e.message));
  };
  const label = `${node.ref.kind} ${node.ref.namespace ? `${node.ref.namespace}/` : ''}${node.ref.name}`;
  return (
    <li data-testid={`object-${node.ref.kind}-${node.ref.name}`}>
      {node.expandable ? (
        <button type="button" class="link" aria-expanded={open} onClick={() => void toggle()}>
          {open ? '▾' : '▸'} {label}
        </button>
      ) : (
        <span>{label}</span>
      )}{' '}
      <span class={`badge ${tone(node.health)}`} title={node.message}>
        {node.health}
      </span>{' '}
      <span class={`badge ${tone(node.sync)}`}>{node.sync}</span>
      {node.adopted ? <span class="badge muted">adopted</span> : null}
      {node.message ? <span class="sub"> {node.message}</span> : null}
      {open ? (
        <ul class="tree">
          {error ? <li class="error">{error}</li> : null}
          {workload?.note ? <li class="sub">{workload.note}</li> : null}
          {workload?.replicaSets.map((r) => (
            <li key={r.name} data-testid={`rs-${r.name}`}>
              ReplicaSet {r.name} <span class="sub">{`${r.ready}/${r.replicas} ready`}</span>
              <ul class="tree">
                {workload.pods
                  .filter((p) => p.owner === r.name)
                  .map((p) => (
                    <li key={p.name} data-testid={`pod-${p.name}`}>
                      Pod {p.name}{' '}
                      <span class={`badge ${p.ready ? 'ok' : 'warn'}`}>{p.phase ?? 'Unknown'}</span>
                      {p.node ? <span class="sub"> on {p.node}</span> : null}
                    </li>
                  ))}
              </ul>
            </li>
          ))}
          {workload && node.ref.kind !== 'Deployment'
            ? workload.pods.map((p) => (
                <li key={p.name} data-testid={`pod-${p.name}`}>
                  Pod {p.name} <span class={`badge ${p.ready ? 'ok' : 'warn'}`}>{p.phase ?? 'Unknown'}</span>
                </li>
              ))
            : null}
        </ul>
      ) : null}
    </li>
  );
}

function Diff({ diff }: { diff: NonNullable<GroupView['lastChange']>['objects'][number]['diff'] }) {
  if (!diff) return null;
  return (
    <ul class="diff">
      {diff.patch.map((op) => (
        <li key={`${op.op}${op.path}`}>
          <code>
            {op.op} {op.path}
            {op.value !== undefined ? ` ${JSON.stringify(op.value)}` : ''}
          </code>
          {diff.owners[op.path] ? (
            <span class="owner"> changed by {diff.owners[op.path]?.join(', ')}</span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function AppCharts({ app, points }: { app: string; points: AutoscalePoint[] }) {
  const { times, replicas, metrics, rescales } = useMemo(() => {
    const times = points.map((p) => p.t);
    const replicas: Line[] = [
      { label: 'current', values: points.map((p) => p.current) },
      { label: 'desired', values: points.map((p) => p.desired) },
      { label: 'rescale', values: points.map((p) => (p.rescale ? p.desired : null)), markers: true },
    ];
    const names = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
    const metrics = names.map((n) => ({
      name: n,
      lines: [
        { label: `${n} value`, values: points.map((p) => (p.metrics[n]?.[0] ?? null) as number | null) },
        { label: `${n} target`, values: points.map((p) => (p.metrics[n]?.[1] ?? null) as number | null) },
      ],
    }));
    const rescales = points.filter((p) => p.rescale);
    return { times, replicas, metrics, rescales };
  }, [points]);
  return (
    <div class="app" data-testid={`autoscaling-${app}`}>
      <h3>{app}</h3>
      <Chart title={`${app}: replicas`} times={times} lines={replicas} />
      {metrics.map((m) => (
        <Chart key={m.name} title={`${app}: ${m.name}, value against target`} times={times} lines={m.lines} />
      ))}
      <details>
        <summary>Rescales ({rescales.length})</summary>
        <ul data-testid={`rescales-${app}`}>
          {rescales.map((p) => (
            <li key={p.t}>
              {new Date(p.t).toLocaleTimeString()}: {p.current ?? '?'} → {p.desired ?? '?'} — {p.rescale}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

function Budget({ points }: { points: BudgetPoint[] }) {
  const times = points.map((p) => p.t);
  const resources = [...new Set(points.flatMap((p) => Object.keys(p.resources)))];
  return (
    <>
      {resources.map((r) => (
        <Chart
          key={r}
          title={`budget ${r}: requested against allocated (milli-units)`}
          times={times}
          lines={[
            { label: 'requested', values: points.map((p) => (p.resources[r]?.[0] ?? null) as number | null) },
            { label: 'allocated', values: points.map((p) => (p.resources[r]?.[1] ?? null) as number | null) },
          ]}
        />
      ))}
    </>
  );
}

/** One AppGroup: state and actions, objects, the last sync, history, events, conditions, autoscaling. */
export function GroupPage({ ns, name, readOnly }: { ns: string; name: string; readOnly: boolean }) {
  const [view, setView] = useState<GroupView | undefined>();
  const [scaling, setScaling] = useState<Awaited<ReturnType<typeof api.autoscaling>> | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  useEffect(() => {
    const load = () => {
      void api.group(ns, name).then(
        (v) => {
          setView(v);
          setError(undefined);
        },
        (e: Error) => setError(e.message),
      );
      void api.autoscaling(ns, name).then(setScaling, () => undefined);
    };
    load();
    return subscribe(load);
  }, [ns, name]);
  const act = async (action: 'reconcile' | 'suspend' | 'resume') => {
    try {
      await api.act(ns, name, action);
      setNotice(`${action}: requested`);
    } catch (e) {
      setNotice(`${action}: ${(e as Error).message}`);
    }
  };
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!view) return <p class="loading">Loading…</p>;
  const r = view.row;
  return (
    <article aria-labelledby="group-title" data-testid="group">
      <h1 id="group-title">
        AppGroup {ns}/{name} <span class={`badge ${tone(r.state)}`}>{r.state}</span>
      </h1>
      <p>
        Ready:{' '}
        <strong data-testid="ready">{r.ready ? `${r.ready.status} · ${r.ready.reason ?? ''}` : '—'}</strong>
        {r.ready?.message ? <span data-testid="ready-message"> — {r.ready.message}</span> : null}
      </p>
      <p>
        Sync {r.sync ?? '—'} · health {r.health ?? '—'} · revision{' '}
        <code data-testid="revision">{r.revision ?? '—'}</code> · source {r.source}
        {view.spec.path ? ` · path ${view.spec.path}` : ''}
      </p>
      {view.actions && !readOnly ? (
        <div class="actions">
          <button type="button" onClick={() => void act('reconcile')}>
            Reconcile now
          </button>
          {view.spec.suspend ? (
            <button type="button" onClick={() => void act('resume')}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={() => void act('suspend')}>
              Suspend
            </button>
          )}
          {notice ? <span role="status">{notice}</span> : null}
        </div>
      ) : null}

      <section aria-labelledby="objects">
        <h2 id="objects">Objects ({view.tree.length})</h2>
        <ul class="tree" data-testid="tree">
          {view.tree.map((n) => (
            <TreeRow key={n.id} ns={ns} name={name} node={n} />
          ))}
        </ul>
      </section>

      <section aria-labelledby="last-sync">
        <h2 id="last-sync">Last sync</h2>
        {view.lastSync ? (
          <p>
            {ago(new Date(view.lastSync.at).toISOString())}, {ms(view.lastSync.durationMs)},{' '}
            {view.lastSync.succeeded ? 'succeeded' : 'failed'} ·{' '}
            {['created', 'configured', 'unchanged', 'pruned']
              .map((a) => `${view.lastSync?.objects.filter((o) => o.action === a).length ?? 0} ${a}`)
              .join(', ')}
          </p>
        ) : (
          <p class="sub">Not seen by this operator process yet; the history below is from status.</p>
        )}
        {view.lastChange ? (
          <>
            <h3>Last change, {ago(new Date(view.lastChange.at).toISOString())}</h3>
            <ul class="changes" data-testid="changes">
              {view.lastChange.objects
                .filter((o) => o.action !== 'unchanged')
                .map((o) => (
                  <li key={o.name}>
                    <span class={`badge ${o.action === 'pruned' ? 'muted' : 'warn'}`}>{o.action}</span>{' '}
                    {o.name}
                    <Diff diff={o.diff} />
                  </li>
                ))}
            </ul>
          </>
        ) : null}
      </section>

      {scaling && Object.keys(scaling.apps).length > 0 ? (
        <section aria-labelledby="autoscaling">
          <h2 id="autoscaling">Autoscaling</h2>
          {Object.entries(scaling.apps).map(([app, points]) => (
            <AppCharts key={app} app={app} points={points} />
          ))}
          {scaling.budget.length > 0 ? <Budget points={scaling.budget} /> : null}
        </section>
      ) : null}

      <section aria-labelledby="history">
        <h2 id="history">History</h2>
        <ol class="history">
          {view.history.map((h) => (
            <li key={h.finishedAt}>
              <span class={`badge ${tone(h.result)}`}>{h.result}</span> <code>{h.revision}</code>{' '}
              {ago(h.finishedAt)} — {h.created} created, {h.configured} configured, {h.deleted} deleted
              {h.message ? ` — ${h.message}` : ''}
            </li>
          ))}
        </ol>
        {view.latency.count > 0 ? (
          <p>
            Commit to applied (last {view.latency.count}): p50 {seconds(view.latency.p50)}, p90{' '}
            {seconds(view.latency.p90)}, max {seconds(view.latency.max)}
          </p>
        ) : null}
      </section>

      <section aria-labelledby="events">
        <h2 id="events">Recent events</h2>
        <ul class="events" data-testid="events">
          {view.events.map((e) => (
            <li key={`${e.at}${e.reason}${e.note}`}>
              <span class={`badge ${e.type === 'Warning' ? 'bad' : 'ok'}`}>{e.reason}</span> {ago(e.at)} —{' '}
              {e.note}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="conditions">
        <h2 id="conditions">Conditions</h2>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {view.conditions.map((c) => (
              <tr key={c.type}>
                <td>{c.type}</td>
                <td>
                  <span class={`badge ${tone(c.status)}`}>{c.status}</span>
                </td>
                <td>{c.reason}</td>
                <td>{c.message}</td>
                <td>{ago(c.lastTransitionTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </article>
  );
}
