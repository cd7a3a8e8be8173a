import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, api, setCsrf, type Who } from './api.ts';
import { GroupPage } from './group.tsx';
import { LatencyPage } from './latency.tsx';
import { Login } from './login.tsx';
import { Overview } from './overview.tsx';

/** The route from the location hash: #/, #/groups/<ns>/<name>, #/latency. */
function parseRoute(
  hash: string,
): { page: 'overview' } | { page: 'group'; ns: string; name: string } | { page: 'latency' } {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'groups' && parts[1] && parts[2]) return { page: 'group', ns: parts[1], name: parts[2] };
  if (parts[0] === 'latency') return { page: 'latency' };
  return { page: 'overview' };
}

function App() {
  const [who, setWho] = useState<Who | undefined | null>(undefined);
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const refreshWho = () =>
    api.whoami().then(
      (w) => {
        setCsrf(w.csrf);
        setWho(w);
      },
      (err: unknown) => setWho(err instanceof ApiError && err.status === 401 ? null : null),
    );
  useEffect(() => {
    void refreshWho();
  }, []);
  if (who === undefined) return <p class="loading">Loading…</p>;
  if (who === null) return <Login onDone={() => void refreshWho()} />;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Shoal
        </a>
        <nav aria-label="Views">
          <a href="#/" aria-current={route.page === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href="#/latency" aria-current={route.page === 'latency' ? 'page' : undefined}>
            Latency
          </a>
        </nav>
        <span class="who" data-testid="who">
          {who.user}
          {who.readOnly ? ' (read-only)' : ''}
        </span>
        {who.mode === 'operator' ? (
          <button type="button" class="link" onClick={() => void api.logout().then(() => setWho(null))}>
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main">
        {route.page === 'group' ? (
          <GroupPage ns={route.ns} name={route.name} readOnly={who.readOnly} />
        ) : route.page === 'latency' ? (
          <LatencyPage />
        ) : (
          <Overview />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
