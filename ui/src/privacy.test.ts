import { describe, expect, it } from 'vitest';
import { maskPhone } from './privacy';

describe('maskPhone', () => {
  it('keeps only the last four characters', () => {
    expect(maskPhone('+15550106291')).toBe('•••6291');
  });
  it('hides short values entirely', () => {
    expect(maskPhone('+1')).toBe('•••');
    expect(maskPhone('1234')).toBe('•••');
  });
});
