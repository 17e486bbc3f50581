import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { CallQuery } from '../api';
import type { CallRecord } from '../types';
import {
  DASH,
  callDuration,
  costTotal,
  formatCost,
  formatDuration,
  formatMs,
  formatTime,
  headlineLatency,
  providerLabel,
  turnCount,
} from '../format';
import { StatusBadge, DirectionTag } from './Badges';
import { Phone } from './Phone';
import { BulkDelete } from './BulkDelete';
import { useTableShortcuts } from '../shortcuts';

type SortKey = 'time' | 'caller' | 'callee' | 'direction' | 'status' | 'duration' | 'turns' | 'cost' | 'latency' | 'provider' | 'mode';
interface Sort {
  key: SortKey;
  desc: boolean;
}

interface Column {
  key: SortKey;
  label: string;
  numeric?: boolean;
  value: (c: CallRecord) => number | string | null;
}

const COLUMNS: Column[] = [
  { key: 'time', label: 'Time', value: (c) => c.started_at ?? null },
  { key: 'caller', label: 'Caller', value: (c) => c.caller ?? null },
  { key: 'callee', label: 'Callee', value: (c) => c.callee ?? null },
  { key: 'direction', label: 'Dir', value: (c) => c.direction ?? null },
  { key: 'status', label: 'Status', value: (c) => c.status ?? null },
  { key: 'duration', label: 'Duration', numeric: true, value: (c) => callDuration(c) },
  { key: 'turns', label: 'Turns', numeric: true, value: (c) => turnCount(c) },
  { key: 'cost', label: 'Cost', numeric: true, value: (c) => costTotal(c.metrics?.cost) },
  { key: 'latency', label: 'Latency', numeric: true, value: (c) => headlineLatency(c.metrics?.latency_avg) },
  { key: 'provider', label: 'Provider', value: (c) => providerLabel(c.metrics) },
  { key: 'mode', label: 'Voice mode', value: (c) => c.metrics?.provider_mode ?? null },
];

export const STATUS_OPTIONS = ['completed', 'failed', 'no-answer', 'busy', 'canceled', 'timeout', 'lost', 'webhook_error'];

function compare(a: number | string | null, b: number | string | null): number {
  if (a === b) return 0;
  if (a === null || a === DASH) return 1; // blanks last whatever the direction
  if (b === null || b === DASH) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

interface Props {
  calls: CallRecord[];
  total: number;
  query: CallQuery;
  onQuery: (q: CallQuery) => void;
  /** The page's time range narrows the rows (anything but All). */
  ranged: boolean;
  loading: boolean;
  error: string | null;
  selectedId: string | null;
  onOpen: (id: string) => void;
  /** Admin sessions tick rows and delete them together. */
  canDelete: boolean;
}

export function CallTable({ calls, total, query, onQuery, ranged, loading, error, selectedId, onOpen, canDelete }: Props) {
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const pickedIds = calls.filter((c) => picked.has(c.call_id)).map((c) => c.call_id); // only rows still shown
  const pick = (id: string, on: boolean) =>
    setPicked((p) => {
      const next = new Set(p);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const [sort, setSort] = useState<Sort>({ key: 'time', desc: true });
  const [search, setSearch] = useState(query.q);
  const tbody = useRef<HTMLTableSectionElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  useTableShortcuts(searchBox, tbody);

  // Debounce typing into the server-side `q` filter.
  useEffect(() => {
    if (search === query.q) return;
    const t = setTimeout(() => onQuery({ ...query, q: search, offset: 0 }), 250);
    return () => clearTimeout(t);
  }, [search, query, onQuery]);

  const rows = useMemo(() => {
    const col = COLUMNS.find((c) => c.key === sort.key) ?? COLUMNS[0]!;
    const sorted = [...calls].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va === null || vb === null) return compare(va, vb);
      return sort.desc ? compare(vb, va) : compare(va, vb);
    });
    return sorted;
  }, [calls, sort]);

  const toggleSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, desc: !s.desc } : { key, desc: key === 'time' || !!COLUMNS.find((c) => c.key === key)?.numeric }));

  const onRowKey = (e: KeyboardEvent<HTMLTableRowElement>, id: string) => {
    if (e.target !== e.currentTarget) return; // keys on the row's checkbox are the checkbox's
    const row = e.currentTarget;
    const move = (target: Element | null | undefined) => {
      if (!(target instanceof HTMLTableRowElement)) return;
      e.preventDefault();
      target.focus();
      // With the detail panel open, moving through rows moves the detail along.
      const nextId = target.dataset.callId;
      if (selectedId !== null && nextId) onOpen(nextId);
    };
    switch (e.key) {
      case 'Enter':
      case ' ':
        e.preventDefault();
        onOpen(id);
        break;
      case 'x':
        if (!canDelete) return;
        e.preventDefault();
        pick(id, !picked.has(id));
        break;
      case 'ArrowDown':
      case 'j':
        move(row.nextElementSibling);
        break;
      case 'ArrowUp':
      case 'k':
        move(row.previousElementSibling);
        break;
      case 'Home':
        move(tbody.current?.firstElementChild);
        break;
      case 'End':
        move(tbody.current?.lastElementChild);
        break;
    }
  };

  const from = total === 0 ? 0 : query.offset + 1;
  const to = Math.min(query.offset + calls.length, total);
  const filtered = ranged || !!(query.status || query.direction || query.q);

  return (
    <section className="calls" aria-labelledby="calls-title">
      <div className="toolbar">
        <h2 id="calls-title">Calls</h2>
        <div className="filters">
          <label className="field">
            <span>Status</span>
            <select value={query.status} onChange={(e) => onQuery({ ...query, status: e.target.value, offset: 0 })}>
              <option value="">All</option>
              {STATUS_OPTIONS.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Direction</span>
            <select value={query.direction} onChange={(e) => onQuery({ ...query, direction: e.target.value, offset: 0 })}>
              <option value="">All</option>
              <option value="inbound">inbound</option>
              <option value="outbound">outbound</option>
            </select>
          </label>
          <label className="field field-search">
            <span>Search</span>
            <input
              ref={searchBox}
              type="search"
              placeholder="number or words"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </label>
        </div>
      </div>
      {error ? (
        <p className="error-banner" role="alert">
          Could not load calls: {error}
        </p>
      ) : null}
      {canDelete ? <BulkDelete ids={pickedIds} onClear={() => setPicked(new Set())} /> : null}
      <div className="table-wrap">
        <table className="call-table" aria-describedby="calls-help" aria-busy={loading}>
          <caption id="calls-help" className="sr-only">
            Completed calls, newest first. Press Enter on a row to open its details; arrow keys move between rows. Column
            sorting applies to the rows on this page.
          </caption>
          <thead>
            <tr>
              {canDelete ? (
                <th scope="col" className="pick">
                  <input
                    type="checkbox"
                    aria-label="Select every call on this page"
                    checked={calls.length > 0 && pickedIds.length === calls.length}
                    onChange={(e) => setPicked(e.target.checked ? new Set(calls.map((c) => c.call_id)) : new Set())}
                  />
                </th>
              ) : null}
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  className={c.numeric ? 'num' : undefined}
                  aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                >
                  <button type="button" className="sort" onClick={() => toggleSort(c.key)}>
                    {c.label}
                    <span className="sort-arrow" aria-hidden="true">
                      {sort.key === c.key ? (sort.desc ? '▾' : '▴') : ''}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody ref={tbody}>
            {rows.map((c) => (
              <tr
                key={c.call_id}
                data-call-id={c.call_id}
                tabIndex={0}
                className={c.call_id === selectedId ? 'selected' : undefined}
                aria-current={c.call_id === selectedId ? 'true' : undefined}
                onClick={() => onOpen(c.call_id)}
                onKeyDown={(e) => onRowKey(e, c.call_id)}
              >
                {canDelete ? (
                  <td className="pick" onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      aria-label={`Select call ${c.call_id}`}
                      checked={picked.has(c.call_id)}
                      onChange={(e) => pick(c.call_id, e.target.checked)}
                    />
                  </td>
                ) : null}
                <td className="num nowrap">{formatTime(c.started_at)}</td>
                <td className="num nowrap phone">
                  <Phone value={c.caller} className="" />
                </td>
                <td className="num nowrap phone">
                  <Phone value={c.callee} className="" />
                </td>
                <td>
                  <DirectionTag direction={c.direction} />
                </td>
                <td>
                  <StatusBadge status={c.status} error={c.metrics?.error_code} />
                </td>
                <td className="num">{formatDuration(callDuration(c))}</td>
                <td className="num">{turnCount(c) ?? DASH}</td>
                <td className="num">{formatCost(costTotal(c.metrics?.cost))}</td>
                <td className="num">{formatMs(headlineLatency(c.metrics?.latency_avg))}</td>
                <td className="ellipsis" title={providerLabel(c.metrics)}>
                  {providerLabel(c.metrics)}
                </td>
                <td className="ellipsis">{c.metrics?.provider_mode || DASH}</td>
              </tr>
            ))}
            {rows.length === 0 && !loading ? (
              <tr className="no-rows">
                <td colSpan={COLUMNS.length + (canDelete ? 1 : 0)}>{filtered ? 'No calls match these filters.' : 'No completed calls yet.'}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pagination">
        <span className="num" aria-live="polite">
          {from}–{to} of {total}
        </span>
        <label className="field field-inline">
          <span>Rows</span>
          <select value={query.limit} onChange={(e) => onQuery({ ...query, limit: Number(e.target.value), offset: 0 })}>
            {[25, 50, 100, 200].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="btn"
          disabled={query.offset === 0}
          onClick={() => onQuery({ ...query, offset: Math.max(0, query.offset - query.limit) })}
        >
          ‹ Prev
        </button>
        <button
          type="button"
          className="btn"
          disabled={query.offset + query.limit >= total}
          onClick={() => onQuery({ ...query, offset: query.offset + query.limit })}
        >
          Next ›
        </button>
      </nav>
    </section>
  );
}
