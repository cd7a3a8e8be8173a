import { useState } from 'preact/hooks';
import { api, setCsrf } from './api.ts';

/** Sign-in with a Kubernetes bearer token (a ServiceAccount token or your own): never put in a URL. */
export function Login({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api.login(token);
      setCsrf(r.csrf);
      setToken('');
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <main class="login">
      <h1>Shoal</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Kubernetes bearer token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <p class="hint">
          For example <code>kubectl create token &lt;service-account&gt; -n &lt;namespace&gt;</code>. You see
          what its RBAC lets it read.
        </p>
        <button type="submit">Sign in</button>
        {error ? (
          <p role="alert" class="error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
