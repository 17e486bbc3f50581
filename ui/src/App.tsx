import { useCallback, useEffect, useRef, useState, type MouseEvent } from 'react';
import {
  UnauthorizedError,
  exportUrl,
  fetchActive,
  fetchAggregates,
  fetchCalls,
  onUnauthorized,
  type CallQuery,
} from './api';
import { rangeAggregates, trendsOf, useHistory } from './history';
import { applyEvent, mergeSnapshot, orderedCalls, type ActiveCalls } from './live';
import { LiveStream, type ConnectionState } from './stream';
import type { Aggregates, CallRecord, StreamEvent } from './types';
import { AlertsBanner, AlertsView, useAlerts } from './components/Alerts';
import { CallDetail } from './components/CallDetail';
import { CallTable } from './components/CallTable';
import { BucketChip } from './components/BucketChip';
import { EmptyState } from './components/EmptyState';
import { HistoryCharts } from './components/HistoryCharts';
import { LiveRail } from './components/LiveRail';
import { MetricsRow } from './components/MetricsRow';
import { RejectionsBanner } from './components/RejectionsBanner';
import { SignedOut } from './components/SignedOut';
import { RevealToggle } from './components/Phone';
import { ThemeToggle } from './components/ThemeToggle';
import { useIngestRejections, useRights } from './session';
import {
  bucketFromSearch,
  bucketQuery,
  rangeFromSearch,
  rangeIsOpen,
  rangeLabel,
  rangeQuery,
  searchWithBucket,
  searchWithRange,
  type Bucket,
  type TimeRange,
} from './range';
import { firingRules } from './alerts';
import { callIdFromPath, useCallPath } from './deeplink';

const INITIAL_QUERY: CallQuery = { limit: 50, offset: 0, status: '', direction: '', q: '', from: '', to: '' };

/** Re-render once a second while something is live (a display clock, not polling). */
function useNowSeconds(enabled: boolean): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    if (!enabled) return;
    setNow(Date.now() / 1000);
    const t = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(t);
  }, [enabled]);
  return now;
}

/** Coalesces bursts of events (e.g. a replay) into one refresh. */
function useCoalesced(f: () => void, delayMs: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(f);
  latest.current = f;
  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);
  return useCallback(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, delayMs);
  }, [delayMs]);
}

function ConnectionIndicator({ state }: { state: ConnectionState }) {
  const label = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Offline' }[state];
  return (
    <span className={`conn conn-${state}`} role="status" data-state={state}>
      <span className="conn-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function App() {
  const [needToken, setNeedToken] = useState(false);
  const [aggregates, setAggregates] = useState<Aggregates | null>(null);
  const [active, setActive] = useState<ActiveCalls>({});
  const activeRef = useRef<ActiveCalls>({});
  const pending = useRef<StreamEvent[] | null>(null);
  const [conn, setConn] = useState<ConnectionState>('connecting');
  const [query, setQuery] = useState<CallQuery>(INITIAL_QUERY);
  // The one time range (in the URL): charts, table and exports all follow it.
  const [range, setRange] = useState<TimeRange>(() => rangeFromSearch(window.location.search));
  // A chart bucket (in the URL too) narrows the table and exports to [from, to) inside the range.
  const [bucket, setBucket] = useState<Bucket | null>(() => bucketFromSearch(window.location.search));
  const [page, setPage] = useState<{ calls: CallRecord[]; total: number; loaded: boolean }>({ calls: [], total: 0, loaded: false });
  const [loading, setLoading] = useState(true);
  const [tableError, setTableError] = useState<string | null>(null);
  const [historyVersion, setHistoryVersion] = useState(0);
  const [selected, setSelected] = useState<string | null>(() => callIdFromPath(window.location.pathname));
  const [detailVersion, setDetailVersion] = useState(0);
  const selectedRef = useRef<string | null>(null);
  selectedRef.current = selected;
  const lastFocus = useRef<HTMLElement | null>(null);
  useCallPath(selected, setSelected);

  // The charts and the metrics row read the range's history over the whole log.
  const { history, error: historyError } = useHistory(range, historyVersion, !needToken);

  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  const { canDelete, isAdmin } = useRights(!needToken);
  const { rejections, reload: loadRejections } = useIngestRejections(isAdmin);
  const loadRejectionsRef = useRef(loadRejections);
  loadRejectionsRef.current = loadRejections;
  const { alerts, reload: loadAlerts, onEvent: onAlertEvent } = useAlerts(!needToken);
  const loadAlertsRef = useRef(loadAlerts);
  loadAlertsRef.current = loadAlerts;
  const [showAlerts, setShowAlerts] = useState(false);

  // A ?token= (or the sign-in page's ?signin= and ?next=) left in the address bar is removed; the
  // server normally redirects them away.
  useEffect(() => {
    const url = new URL(window.location.href);
    if (['token', 'signin', 'next'].some((k) => url.searchParams.has(k))) {
      url.searchParams.delete('token');
      url.searchParams.delete('signin');
      url.searchParams.delete('next');
      window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
  }, []);

  const setActiveState = useCallback((s: ActiveCalls) => {
    activeRef.current = s;
    setActive(s);
  }, []);

  const loadAggregates = useCallback(() => {
    fetchAggregates()
      .then(setAggregates)
      .catch(() => undefined); // 401 is handled by the listener; the row keeps its last values otherwise
  }, []);

  const loadSnapshot = useCallback(() => {
    pending.current = [];
    fetchActive()
      .then((snap) => setActiveState(mergeSnapshot(snap, pending.current ?? [])))
      .catch(() => undefined)
      .finally(() => {
        pending.current = null;
      });
  }, [setActiveState]);

  const refreshHistory = useCoalesced(() => {
    setHistoryVersion((v) => v + 1);
    loadAggregates();
  }, 120);
  const refreshAggregates = useCoalesced(loadAggregates, 120);
  const refreshDetail = useCoalesced(() => setDetailVersion((v) => v + 1), 120);

  const onEvent = useCallback(
    (ev: StreamEvent) => {
      pending.current?.push(ev);
      onAlertEvent(ev);
      const { state, effects } = applyEvent(activeRef.current, ev);
      if (state !== activeRef.current) setActiveState(state);
      if (effects.refreshHistory) refreshHistory();
      else if (effects.refreshAggregates) refreshAggregates();
      const sel = selectedRef.current;
      if (sel !== null && effects.deleted.includes(sel)) setSelected(null);
      else if (sel !== null && effects.touched.includes(sel)) refreshDetail();
    },
    [onAlertEvent, refreshAggregates, refreshDetail, refreshHistory, setActiveState],
  );

  // The one EventSource.
  useEffect(() => {
    if (needToken) return;
    let opened = false;
    const stream = new LiveStream({
      onEvent,
      onState: setConn,
      onOpen: (resumed) => {
        loadRejectionsRef.current();
        loadAlertsRef.current(); // alert state on every (re)connect; the events keep it current
        if (resumed) return; // the server replays what we missed
        loadSnapshot();
        if (opened) refreshHistory();
        opened = true;
      },
      probe: async () => {
        try {
          await fetchAggregates();
          return 'retry';
        } catch (e) {
          return e instanceof UnauthorizedError ? 'unauthorized' : 'retry';
        }
      },
    });
    stream.start();
    return () => stream.stop();
  }, [needToken, onEvent, loadSnapshot, refreshHistory]);

  useEffect(() => {
    if (!needToken) loadAggregates();
  }, [needToken, loadAggregates]);

  // The table page: on filter, page or history change.
  useEffect(() => {
    if (needToken) return;
    const ctl = new AbortController();
    setLoading(true);
    fetchCalls({ ...query, ...(bucket ? bucketQuery(bucket) : rangeQuery(range, Date.now() / 1000)) }, ctl.signal)
      .then((p) => {
        setPage({ ...p, loaded: true });
        setTableError(null);
        // Deleting the last rows of the last page: step back a page.
        if (p.calls.length === 0 && query.offset > 0 && p.total > 0) {
          setQuery((q) => ({ ...q, offset: Math.max(0, Math.floor((p.total - 1) / q.limit) * q.limit) }));
        }
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted && !(e instanceof UnauthorizedError)) setTableError(errorText(e));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [query, range, bucket, historyVersion, needToken]);

  const openDetail = useCallback((id: string) => {
    if (selectedRef.current === null && document.activeElement instanceof HTMLElement) {
      lastFocus.current = document.activeElement;
    }
    setShowAlerts(false);
    setSelected(id);
  }, []);

  const closeDetail = useCallback(() => {
    setSelected(null);
    lastFocus.current?.focus();
    lastFocus.current = null;
  }, []);

  const chooseRange = useCallback((r: TimeRange) => {
    setRange(r);
    setBucket(null);
    setQuery((q) => ({ ...q, offset: 0 }));
    const { pathname, search, hash } = window.location;
    window.history.replaceState(null, '', pathname + searchWithRange(search, r) + hash);
  }, []);

  const chooseBucket = useCallback((b: Bucket | null) => {
    setBucket(b);
    setQuery((q) => ({ ...q, offset: 0 }));
    const { pathname, search, hash } = window.location;
    window.history.replaceState(null, '', pathname + searchWithBucket(search, b) + hash);
  }, []);
  const clearBucket = useCallback(() => chooseBucket(null), [chooseBucket]);

  const openAlerts = useCallback(() => {
    setSelected(null);
    setShowAlerts(true);
  }, []);
  const closeAlerts = useCallback(() => setShowAlerts(false), []);

  const onDeleted = useCallback(
    (id: string) => {
      setSelected((s) => (s === id ? null : s));
      refreshHistory();
    },
    [refreshHistory],
  );

  const liveCalls = orderedCalls(active);
  const nowSeconds = useNowSeconds(liveCalls.length > 0);

  // The tab says how many calls are live, for an operator with the dashboard in the background.
  useEffect(() => {
    document.title = liveCalls.length > 0 ? `(${liveCalls.length} live) patterdash` : 'patterdash';
  }, [liveCalls.length]);

  if (needToken) return <SignedOut />;

  const ranged = bucket !== null || (range.key !== 'all' && !(range.key === 'custom' && !range.from && !range.to));
  const filtered = ranged || !!(query.status || query.direction || query.q);
  // The exports take the range as it stands when clicked (a preset's start moves with the clock).
  const exportHref = (format: 'csv' | 'json') =>
    exportUrl(format, { ...query, ...(bucket ? bucketQuery(bucket) : rangeQuery(range, Date.now() / 1000)) });
  const freshHref = (format: 'csv' | 'json') => (e: MouseEvent<HTMLAnchorElement>) => {
    e.currentTarget.href = exportHref(format);
  };
  // First run: nothing anywhere (the range alone does not count as a filter here: the default is 24h).
  const empty =
    page.loaded && !tableError && aggregates !== null && aggregates.total_calls === 0 && page.total === 0 && liveCalls.length === 0 &&
    !(query.status || query.direction || query.q);

  // The cards show the range's history (labelled with the range it was read for); live stays live.
  // Without a history answer (an older server) they fall back to the ring, and say so.
  const metricsOf = () => {
    if (history) {
      const live = aggregates?.active_calls ?? 0;
      return { aggregates: rangeAggregates(history.data, live), label: rangeLabel(history.range), countsLive: rangeIsOpen(history.range) };
    }
    return historyError ? { aggregates, label: 'recent calls in memory', countsLive: true } : { aggregates: null, label: rangeLabel(range) };
  };

  const exportTitle = filtered
    ? 'Every call in the log that matches the current filters'
    : 'Every completed call in the log';

  return (
    <div className={`app${selected || showAlerts ? ' has-detail' : ''}`}>
      <header className="topbar">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true" /> patterdash
        </h1>
        <ConnectionIndicator state={conn} />
        <span className="spacer" />
        <ThemeToggle />
        <RevealToggle />
        <button type="button" className="btn" onClick={openAlerts} data-testid="alerts-button">
          Alerts{firingRules(alerts).length > 0 ? ` (${firingRules(alerts).length} firing)` : ''}
        </button>
        <nav className="exports" aria-label="Export">
          <span className="muted small">Export</span>
          <a className="btn" href={exportHref('csv')} onClick={freshHref('csv')} download title={exportTitle}>
            CSV
          </a>
          <a className="btn" href={exportHref('json')} onClick={freshHref('json')} download title={exportTitle}>
            JSON
          </a>
        </nav>
      </header>
      <AlertsBanner alerts={alerts} onOpen={openAlerts} />
      {rejections && rejections.total > 0 ? <RejectionsBanner rejections={rejections} /> : null}
      <MetricsRow {...metricsOf()} trends={empty ? null : trendsOf(history?.data ?? null)} />
      {empty ? null : (
        <HistoryCharts data={history?.data ?? null} error={historyError} range={range} onRange={chooseRange} selected={bucket} onPick={chooseBucket} />
      )}
      <div className="main-grid">
        <main className="main">
          {bucket && !empty ? <BucketChip bucket={bucket} onClear={clearBucket} /> : null}
          {empty ? (
            <EmptyState origin={window.location.origin} />
          ) : (
            <CallTable
              calls={page.calls}
              total={page.total}
              query={query}
              onQuery={setQuery}
              ranged={ranged}
              loading={loading}
              error={tableError}
              selectedId={selected}
              onOpen={openDetail}
              canDelete={canDelete}
            />
          )}
        </main>
        <LiveRail calls={liveCalls} nowSeconds={nowSeconds} onOpen={openDetail} />
      </div>
      {selected ? (
        <CallDetail
          callId={selected}
          live={active[selected]}
          version={detailVersion}
          onClose={closeDetail}
          onDeleted={onDeleted}
          canDelete={canDelete}
        />
      ) : null}
      {showAlerts ? <AlertsView alerts={alerts} onClose={closeAlerts} /> : null}
    </div>
  );
}
