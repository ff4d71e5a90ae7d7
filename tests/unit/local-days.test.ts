import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HOUR_MS, addDays, localCalendar, localDaysEndingNow } from '../../src/lib/domain/local-days.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
/** A local day's first hour start (UTC) and its length in hours. */
function day(timeZone: string, date: string): { first: string; hours: number } {
  const calendar = localCalendar(timeZone);
  const first = calendar.firstHourOf(date);
  return { first: iso(first), hours: (calendar.firstHourOf(addDays(date, 1)) - first) / HOUR_MS };
}

describe('local days made of hours', () => {
  it('in UTC, are the UTC days they always were', () => {
    const utc = localCalendar('UTC');
    expect(utc.dayOf(at('2025-03-30T23:59:59Z'))).toBe('2025-03-30');
    expect(day('UTC', '2025-03-30')).toEqual({ first: '2025-03-30T00:00:00.000Z', hours: 24 });
    const { days, bounds } = localDaysEndingNow(utc, at('2025-04-01T10:20:00Z'), 90);
    expect(days[0]).toBe('2025-01-02');
    expect(days[89]).toBe('2025-04-01');
    expect(bounds.every((b, i) => b === at('2025-01-02T00:00:00Z') + i * 86_400_000)).toBe(true);
  });

  it('in Europe/Berlin, has 23 hours on the day clocks go forward and 25 on the day they go back', () => {
    expect(day('Europe/Berlin', '2025-03-29')).toEqual({ first: '2025-03-28T23:00:00.000Z', hours: 24 });
    expect(day('Europe/Berlin', '2025-03-30')).toEqual({ first: '2025-03-29T23:00:00.000Z', hours: 23 });
    expect(day('Europe/Berlin', '2025-03-31')).toEqual({ first: '2025-03-30T22:00:00.000Z', hours: 24 });
    expect(day('Europe/Berlin', '2025-10-26')).toEqual({ first: '2025-10-25T22:00:00.000Z', hours: 25 });
    // 02:00–03:00 happens twice that night: both hours count for the 26th.
    const berlin = localCalendar('Europe/Berlin');
    expect(berlin.dayOf(at('2025-10-26T00:00:00Z'))).toBe('2025-10-26');
    expect(berlin.dayOf(at('2025-10-26T01:00:00Z'))).toBe('2025-10-26');
    expect(berlin.dayOf(at('2025-10-26T22:59:59Z'))).toBe('2025-10-26');
    expect(berlin.dayOf(at('2025-10-26T23:00:00Z'))).toBe('2025-10-27');
  });

  it('in America/New_York, changes at 2 am local, five or four hours after UTC midnight', () => {
    expect(day('America/New_York', '2025-03-08')).toEqual({ first: '2025-03-08T05:00:00.000Z', hours: 24 });
    expect(day('America/New_York', '2025-03-09')).toEqual({ first: '2025-03-09T05:00:00.000Z', hours: 23 });
    expect(day('America/New_York', '2025-11-02')).toEqual({ first: '2025-11-02T04:00:00.000Z', hours: 25 });
    expect(day('America/New_York', '2025-11-03')).toEqual({ first: '2025-11-03T05:00:00.000Z', hours: 24 });
  });

  it('in Asia/Kolkata (+05:30), begins with the first hour start after midnight: the half hour before counts for the day before', () => {
    const kolkata = localCalendar('Asia/Kolkata');
    // Local midnight is 18:30 UTC; the hour from 18:00 UTC starts at 23:30 local, the one from 19:00 at 00:30.
    expect(kolkata.dayOf(at('2025-03-29T18:00:00Z'))).toBe('2025-03-29');
    expect(kolkata.dayOf(at('2025-03-29T19:00:00Z'))).toBe('2025-03-30');
    expect(day('Asia/Kolkata', '2025-03-30')).toEqual({ first: '2025-03-29T19:00:00.000Z', hours: 24 });
    // So does today: at 00:10 local the current hour began yesterday (23:30), and the range ends with yesterday.
    const { days } = localDaysEndingNow(kolkata, at('2025-03-29T18:40:00Z'), 3);
    expect(days).toEqual(['2025-03-27', '2025-03-28', '2025-03-29']);
    expect(day('Asia/Kathmandu', '2025-01-01')).toEqual({ first: '2024-12-31T19:00:00.000Z', hours: 24 }); // +05:45
  });

  it('begins a day whose midnight does not exist at its first hour (America/Santiago, DST from 00:00)', () => {
    // 7 September 2025: 00:00 -04 became 01:00 -03, at 04:00 UTC.
    expect(day('America/Santiago', '2025-09-07')).toEqual({ first: '2025-09-07T04:00:00.000Z', hours: 23 });
    expect(day('America/Santiago', '2025-09-06').hours).toBe(24);
  });

  it('covers every hour once, each in the day its start falls in, whatever the zone and the instant (property)', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago', 'Pacific/Chatham'];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: at('2024-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z') }), (zone, now) => {
        const calendar = localCalendar(zone);
        const { days, bounds } = localDaysEndingNow(calendar, now, 10);
        expect(bounds[10]).toBeGreaterThan(now); // the range ends with today
        expect(bounds[9]).toBeLessThanOrEqual(Math.floor(now / HOUR_MS) * HOUR_MS);
        for (let i = 0; i < 10; i++) {
          expect([23, 24, 25]).toContain((bounds[i + 1] - bounds[i]) / HOUR_MS);
          for (let h = bounds[i]; h < bounds[i + 1]; h += HOUR_MS) expect(calendar.dayOf(h)).toBe(days[i]);
          expect(calendar.dayOf(bounds[i] - HOUR_MS)).toBe(addDays(days[i], -1));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2025-04-01', -89)).toBe('2025-01-02');
  });
});
