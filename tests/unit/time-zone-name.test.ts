import { describe, expect, it } from 'vitest';
import { isTimeZoneName } from '../../src/lib/domain/time-zone-name.ts';
import { pushSettingsRequest } from '../../src/lib/protocol/push.ts';
import { loadConfig } from '../../server/config.ts';

const NAMES = ['UTC', 'Europe/Berlin', 'Australia/Sydney', 'America/Argentina/Buenos_Aires', 'Asia/Kolkata', 'Etc/GMT+3', 'europe/berlin'];
/** Intl on Node 24 takes the offsets among these (`+05:30`, `-0800`, `+05`, `−05:00` with a Unicode minus). */
const NOT_NAMES = ['', '+05:30', '-0800', '+05', '\u221205:00', 'UTC+3', 'Mars/Olympus_Mons', 'Europe/Berlin ', 'Europe//Berlin', '../etc/passwd', 'x'.repeat(65)];

describe('time zone names', () => {
  it('takes IANA zone names only: not offsets, which Postgres would read west of Greenwich', () => {
    for (const zone of NAMES) expect(isTimeZoneName(zone), zone).toBe(true);
    for (const zone of NOT_NAMES) expect(isTimeZoneName(zone), zone).toBe(false);
  });

  it('push settings take the same names, and name the timezone field when they refuse one', () => {
    const settings = (timezone: string) => pushSettingsRequest.safeParse({ minSeverity: 'high', quietHours: { start: '22:00', end: '07:00' }, timezone });
    for (const zone of NAMES) expect(settings(zone).success, zone).toBe(true);
    for (const zone of NOT_NAMES) {
      const result = settings(zone);
      expect(result.success, zone).toBe(false);
      expect([...new Set(result.error?.issues.map((i) => i.path.join('.')))], zone).toEqual(['timezone']);
    }
  });

  it("the server's WATCHFLOOR_TIMEZONE takes the same names", () => {
    for (const zone of NAMES) expect(loadConfig({ WATCHFLOOR_TIMEZONE: zone }).timeZone, zone).toBe(zone);
    for (const zone of NOT_NAMES.filter((z) => z !== '')) expect(() => loadConfig({ WATCHFLOOR_TIMEZONE: zone }), zone).toThrow(/WATCHFLOOR_TIMEZONE/);
  });
});
