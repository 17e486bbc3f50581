/** Page-wide keys: `/` focuses search, `j`/`k` enter the table (rows handle them once focused). */
import { useEffect, type RefObject } from 'react';

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function useTableShortcuts(search: RefObject<HTMLInputElement>, tbody: RefObject<HTMLTableSectionElement>): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === '/') {
        e.preventDefault(); // keep the slash out of the box
        search.current?.focus();
        return;
      }
      if ((e.key === 'j' || e.key === 'k') && !(e.target instanceof HTMLTableRowElement)) {
        const rows = tbody.current?.querySelectorAll<HTMLTableRowElement>('tr[data-call-id]');
        if (!rows?.length) return;
        const current = tbody.current?.querySelector<HTMLTableRowElement>('tr.selected');
        e.preventDefault();
        (current ?? (e.key === 'j' ? rows[0] : rows[rows.length - 1]))?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [search, tbody]);
}
