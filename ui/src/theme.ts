/** Light/dark theme: follows prefers-color-scheme until the user picks one (remembered in localStorage). */
import { useSyncExternalStore } from 'react';

export type Theme = 'light' | 'dark';
const KEY = 'patterdash.theme';
const listeners = new Set<() => void>();

function stored(): Theme | null {
  try {
    const v = window.localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null; // storage blocked: follow the system
  }
}

function system(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

let current: Theme = 'dark';

function apply(): void {
  current = stored() ?? system();
  document.documentElement.dataset.theme = current;
  listeners.forEach((l) => l());
}

/** Set the theme before the first paint and keep following the system while no choice is stored. */
export function initTheme(): void {
  apply();
  window.matchMedia?.('(prefers-color-scheme: light)').addEventListener('change', apply);
}

export function chooseTheme(theme: Theme): void {
  try {
    window.localStorage.setItem(KEY, theme);
  } catch {
    // storage blocked: the choice applies until reload
  }
  current = theme;
  document.documentElement.dataset.theme = theme;
  listeners.forEach((l) => l());
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useTheme(): Theme {
  return useSyncExternalStore(subscribe, () => current);
}
