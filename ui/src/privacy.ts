/** Phone numbers are masked by default; the reveal choice lasts for the browser session. */
import { useSyncExternalStore } from 'react';

const KEY = 'patterdash.revealNumbers';
const listeners = new Set<() => void>();

/** `•••6291`: only the last four characters stay visible (all hidden when shorter). */
export function maskPhone(value: string): string {
  const v = value.trim();
  return v.length > 4 ? `•••${v.slice(-4)}` : '•••';
}

function read(): boolean {
  try {
    return window.sessionStorage.getItem(KEY) === '1';
  } catch {
    return false; // storage blocked: stay masked
  }
}

export function setRevealed(on: boolean): void {
  try {
    if (on) window.sessionStorage.setItem(KEY, '1');
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // storage blocked: the choice still applies until reload
  }
  current = on;
  listeners.forEach((l) => l());
}

let current = typeof window === 'undefined' ? false : read();

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Whether full numbers are shown, re-rendering on toggle. */
export function useRevealed(): boolean {
  return useSyncExternalStore(subscribe, () => current);
}
