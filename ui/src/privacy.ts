/** Phone numbers are masked by default; the reveal choice lasts for the browser session. */
import { useSyncExternalStore } from 'react';

const KEY = 'patterdash.revealNumbers';
const listeners = new Set<() => void>();

/** `•••6291`: only the last four characters stay visible (all hidden when shorter). */
export function maskPhone(value: string): string {
  const v = value.trim();
  return v.length > 4 ? `•••${v.slice(-4)}` : '•••';
}

/**
 * A run that reads like a phone number: an optional `+`, then digits joined by at most two of
 * space . - ( ) between each (`+1 (555) 010-6291`, `555.010.4242`, `+15550106291`).
 */
const NUMBER_RUN = /\+?\(?\d(?:[ .()-]{0,2}\d)+/g;
/** E.164 numbers have at most 15 digits; fewer than 7 is a count, a time or a price. */
const MIN_DIGITS = 7;
const MAX_DIGITS = 15;
/** `2026-12-01`: a date, not a number to hide. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Free text (a transcript line, a tool call's arguments, a reason) with every phone-number-like
 * digit run masked as `maskPhone` masks a number column (`•••6291`); everything else untouched.
 */
export function maskNumbers(text: string): string {
  return text.replace(NUMBER_RUN, (run) => {
    const digits = run.replace(/\D/g, '');
    if (digits.length < MIN_DIGITS || digits.length > MAX_DIGITS || ISO_DATE.test(run)) return run;
    return maskPhone(digits);
  });
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

/** Text as this session may see it: numbers inside it masked unless revealed. */
export function useMaskedText(text: string): string {
  return useRevealed() ? text : maskNumbers(text);
}
