import { describe, expect, it } from 'vitest';
import { callIdFromPath, pathForCall, signInUrl } from './deeplink';

describe('call deep links', () => {
  it('round-trips ids with reserved characters', () => {
    for (const id of ['abc', 'a b/c?d#e', 'ünï']) expect(callIdFromPath(pathForCall(id))).toBe(id);
  });
  it('ignores other paths and malformed escapes', () => {
    expect(callIdFromPath('/')).toBeNull();
    expect(callIdFromPath('/calls/')).toBeNull();
    expect(callIdFromPath('/calls/a/b')).toBeNull();
    expect(callIdFromPath('/calls/%E0%A4%A')).toBeNull();
  });
});

describe('signing in again', () => {
  it('returns to the page that was open', () => {
    expect(signInUrl('/', '')).toBe('/');
    expect(signInUrl('/', '?range=7d')).toBe('/?next=%2F%3Frange%3D7d');
    expect(signInUrl('/calls/a%20b', '?range=1h')).toBe('/?next=%2Fcalls%2Fa%2520b%3Frange%3D1h');
  });
});
