import { describe, expect, it } from 'vitest';
import { compareText, formatAge, formatCount } from '../../src/lib/domain/format.ts';

describe('formatCount', () => {
  it('groups thousands as the English UI reads them', () => {
    expect([0, 7, 999, 1000, 10_000, 123_456, 1_234_567, -4200].map(formatCount)).toEqual(['0', '7', '999', '1,000', '10,000', '123,456', '1,234,567', '-4,200']);
  });
  it('matches en-US toLocaleString for any whole count', () => {
    for (let n = 1; n < 1e12; n = n * 7 + 3) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('compareText', () => {
  it('orders names alphabetically whatever their case, and case ties stably', () => {
    expect(['umbrella', 'Acme', 'globex', 'Initech', 'acme'].sort(compareText)).toEqual(['Acme', 'acme', 'globex', 'Initech', 'umbrella']);
    expect(compareText('Same', 'Same')).toBe(0);
  });
});

describe('formatAge', () => {
  it('reads at a glance', () => {
    expect([4_000, 12 * 60_000, (3 * 60 + 5) * 60_000, 52 * 3_600_000, -5].map(formatAge)).toEqual(['4 s', '12 min', '3 h 5 min', '2 d 4 h', '0 s']);
  });
});
