import { useState } from 'preact/hooks';
import { api, auth } from '../api.ts';

/** Shown when the API asks for a token: checks it, then keeps it in this browser. */
export function SignIn(props: { reason: string; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    auth.set(token.trim());
    try {
      await api('/api/incidents?limit=1');
      props.onSignedIn();
    } catch (err) {
      auth.set(null);
      setError((err as Error).message);
    }
  };
  return (
    <form class="panel signin" onSubmit={submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Vigil</h1>
      <p class="muted">{props.reason}</p>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autofocus required />
      {error && <div class="error">{error}</div>}
      <button type="submit" class="primary">
        Sign in
      </button>
    </form>
  );
}
