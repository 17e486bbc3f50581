/** /calls/<id> in the address bar opens that call's detail; back/forward and reload keep it. */
import { useEffect } from 'react';

export function callIdFromPath(pathname: string): string | null {
  const m = /^\/calls\/([^/]+)\/?$/.exec(pathname);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null; // a malformed escape: no call, the dashboard as usual
  }
}

/** The sign-in page, told to come back here (the server keeps only same-origin dashboard pages). */
export function signInUrl(pathname: string, search: string): string {
  const here = pathname + search;
  return here === '/' ? '/' : `/?next=${encodeURIComponent(here)}`;
}

export function pathForCall(id: string | null): string {
  return id === null ? '/' : `/calls/${encodeURIComponent(id)}`;
}

/** Keeps the address bar's path and the open detail in step (the range query string is kept). */
export function useCallPath(selected: string | null, select: (id: string | null) => void): void {
  useEffect(() => {
    const onPop = () => select(callIdFromPath(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [select]);
  useEffect(() => {
    const want = pathForCall(selected);
    if (window.location.pathname === want) return;
    const { search, hash } = window.location;
    window.history.pushState(null, '', want + search + hash);
  }, [selected]);
}
