import { describe, expect, it } from 'vitest';
import { callIdFromPath, pathForCall } from './deeplink';

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
