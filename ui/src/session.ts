/** What this session may do (GET /api/me) and what admins should hear about (refused ingest). */
import { useCallback, useEffect, useState } from 'react';
import { fetchIngestRejections, fetchMe } from './api';
import type { IngestRejections, Me } from './types';

export interface Rights {
  /** Delete is offered only to admin sessions; unknown rights (a server without /api/me) keep it. */
  canDelete: boolean;
  isAdmin: boolean;
}

/** The session's rights, asked once per sign-in. */
export function useRights(signedIn: boolean): Rights {
  // undefined: not known yet; null: the server has no /api/me.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    if (!signedIn) return;
    fetchMe()
      .then(setMe)
      .catch(() => setMe(null)); // unknown: the server's 403 on Delete explains itself
  }, [signedIn]);
  const isAdmin = !!me && me.rights.includes('admin');
  return { isAdmin, canDelete: me === null || isAdmin };
}

/**
 * Refused ingest requests, for admins. Refusals are not events, so this looks again on load,
 * whenever `reload` is called (the stream's every (re)connect) and when the tab comes back.
 */
export function useIngestRejections(isAdmin: boolean): { rejections: IngestRejections | null; reload: () => void } {
  const [rejections, setRejections] = useState<IngestRejections | null>(null);
  const reload = useCallback(() => {
    if (!isAdmin) return;
    fetchIngestRejections()
      .then(setRejections)
      .catch(() => undefined); // the banner keeps its last state
  }, [isAdmin]);
  useEffect(() => {
    reload();
    const onVisible = () => {
      if (document.visibilityState === 'visible') reload();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [reload]);
  return { rejections: isAdmin ? rejections : null, reload };
}
