import { useEffect, useState } from 'preact/hooks';
import { api, subscribe } from './api.ts';
import { seconds } from './format.ts';

/** Commit-to-applied times per group: percentiles and a histogram over fixed buckets. */
export function LatencyPage() {
  const [data, setData] = useState<Awaited<ReturnType<typeof api.latency>> | undefined>();
  useEffect(() => {
    const load = () => void api.latency().then(setData, () => undefined);
    load();
    return subscribe(load);
  }, []);
  if (!data) return <p class="loading">Loading…</p>;
  return (
    <section aria-labelledby="latency-title">
      <h1 id="latency-title">Commit to applied</h1>
      <p class="sub">
        From the poll or webhook that found a commit to the group having applied it; the last 200 per group.
      </p>
      <table class="grid" data-testid="latency">
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Samples</th>
            <th scope="col">p50</th>
            <th scope="col">p90</th>
            <th scope="col">p99</th>
            <th scope="col">Max</th>
            <th scope="col">Distribution</th>
          </tr>
        </thead>
        <tbody>
          {data.groups.map(({ group, distribution: d }) => {
            const top = Math.max(1, ...d.buckets.map((b) => b.count));
            return (
              <tr key={group}>
                <td>
                  <a href={`#/groups/${group}`}>{group}</a>
                </td>
                <td>{d.count}</td>
                <td>{seconds(d.p50)}</td>
                <td>{seconds(d.p90)}</td>
                <td>{seconds(d.p99)}</td>
                <td>{seconds(d.max)}</td>
                <td>
                  <span
                    class="bars"
                    role="img"
                    aria-label={d.buckets.map((b) => `${b.count} up to ${b.le ?? '∞'} s`).join(', ')}
                  >
                    {d.buckets.map((b) => (
                      <span
                        key={String(b.le)}
                        class={`bar h${Math.round((b.count / top) * 8)}`}
                        title={`≤ ${b.le ?? '∞'} s: ${b.count}`}
                      />
                    ))}
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
