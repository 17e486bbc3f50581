import { useEffect } from 'react';
import { signInUrl } from '../deeplink';

/**
 * The API answered 401. The server's page at `/` is the one sign-in screen (it works without
 * script and removes a rejected token from the address bar), so we go there, and back after.
 */
export function SignedOut() {
  // Under `npm run dev` the dev server answers `/` with this app again: no redirect loop there.
  const redirect = !import.meta.env.DEV;
  useEffect(() => {
    if (redirect) window.location.replace(signInUrl(window.location.pathname, window.location.search));
  }, [redirect]);
  return (
    <main className="token-page">
      <div className="token-card" role="status">
        <h1>
          <span className="brand-mark" aria-hidden="true" /> patterdash
        </h1>
        <p>Your session has ended.</p>
        {redirect ? (
          <p>
            Opening the <a href="/">sign-in page</a>…
          </p>
        ) : (
          <p className="muted small">
            Sign in on the server itself (<code>/?token=…</code>), then reload.
          </p>
        )}
      </div>
    </main>
  );
}
