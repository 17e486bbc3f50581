import { useState, type FormEvent } from 'react';

/** Shown when the API answers 401: opening /?token=T makes the server set the session cookie. */
export function TokenPrompt() {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) return;
    window.location.assign(`/?token=${encodeURIComponent(token.trim())}`);
  };
  return (
    <main className="token-page">
      <form className="token-card" onSubmit={submit} aria-labelledby="token-title">
        <h1 id="token-title">
          <span className="brand-mark" aria-hidden="true" /> patterdash
        </h1>
        <p>This dashboard is protected. Enter an access token to continue.</p>
        <label htmlFor="token-input">Access token</label>
        <input
          id="token-input"
          name="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="btn btn-primary">
          Open dashboard
        </button>
        <p className="muted small">
          The token is exchanged for a session cookie and removed from the address bar. Start the server with{' '}
          <code>patterdash serve --token …</code> or create one with <code>patterdash token rotate</code>.
        </p>
      </form>
    </main>
  );
}
