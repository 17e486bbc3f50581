import { describe, expect, it } from 'vitest';
import { maskNumbers, maskPhone } from './privacy';

describe('maskPhone', () => {
  it('keeps only the last four characters', () => {
    expect(maskPhone('+15550106291')).toBe('•••6291');
  });
  it('hides short values entirely', () => {
    expect(maskPhone('+1')).toBe('•••');
    expect(maskPhone('1234')).toBe('•••');
  });
});

describe('maskNumbers', () => {
  it('masks numbers said in any common shape, like the number columns', () => {
    expect(maskNumbers('Call me on +1 (555) 010-6291 please')).toBe('Call me on •••6291 please');
    expect(maskNumbers('it is 555.010.4242')).toBe('it is •••4242');
    expect(maskNumbers('{"transfer_to":"+15550107777","party":2}')).toBe('{"transfer_to":"•••7777","party":2}');
    expect(maskNumbers('0044 20 7946 0958')).toBe('•••0958');
    expect(maskNumbers('5550106291 or 5550107777')).toBe('•••6291 or •••7777');
  });
  it('leaves times, prices, counts, dates and ordinary text alone', () => {
    for (const text of ['before 20:00', 'a table for 2 at 8:15', 'that is $1,234.50', 'order 123456', 'on 2026-12-01', 'no digits', '']) {
      expect(maskNumbers(text)).toBe(text);
    }
  });
  it('does not mask digit runs too long to be a phone number', () => {
    expect(maskNumbers('id 1234567890123456789')).toBe('id 1234567890123456789');
  });
  it('is idempotent', () => {
    const once = maskNumbers('+1 555 010 6291');
    expect(maskNumbers(once)).toBe(once);
  });
});
