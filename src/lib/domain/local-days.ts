/**
 * Calendar days in a time zone, made of whole hours. The uptime roll-ups count time in UTC hours, and
 * a local day is the hours whose start falls in it: around a DST change a day has 23 or 25 hours. In a
 * zone whose offset is not whole hours (Asia/Kolkata, +05:30) no hour starts at local midnight, so a
 * day runs from its first hour start (00:30) to the next day's: the half hour after midnight counts for
 * the day before. Pure: time is epoch milliseconds, the zone an IANA name; the server and the app both
 * use it, so the days a wall draws are the days the server summed.
 */

export const HOUR_MS = 3_600_000;

/** The calendar of one time zone (one formatter, made once: making one costs more than using it hundreds of times). */
export interface LocalCalendar {
  readonly timeZone: string;
  /** The local date of an instant, as YYYY-MM-DD. */
  dayOf(ms: number): string;
  /** The first hour start (UTC, epoch ms) whose local date is `day`: where the day's bucket of hours begins. */
  firstHourOf(day: string): number;
}

/** `day` moved by `n` calendar days (YYYY-MM-DD in, YYYY-MM-DD out). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/** The calendar of `timeZone` (an IANA name; throws RangeError for one the runtime does not know). */
export function localCalendar(timeZone: string): LocalCalendar {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const fields = (ms: number) => {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of format.formatToParts(ms)) if (part.type in out) out[part.type as keyof typeof out] = Number(part.value);
    return out;
  };
  const dayOf = (ms: number) => {
    const f = fields(ms);
    return `${String(f.year).padStart(4, '0')}-${String(f.month).padStart(2, '0')}-${String(f.day).padStart(2, '0')}`;
  };
  /** How far the zone's wall clock is ahead of UTC at `ms`. */
  const offsetAt = (ms: number) => {
    const f = fields(ms);
    return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(ms / 1000) * 1000;
  };
  return {
    timeZone,
    dayOf,
    firstHourOf(day) {
      const [y, m, d] = day.split('-').map(Number);
      const midnightUtc = Date.UTC(y, m - 1, d);
      // Local midnight, near enough (the offset may change that night); the walks make it exact, and also
      // cover a day whose midnight does not exist (DST starting at 00:00, as in America/Santiago).
      let hour = ceilHour(midnightUtc - offsetAt(midnightUtc));
      while (dayOf(hour) < day) hour += HOUR_MS;
      while (dayOf(hour - HOUR_MS) >= day) hour -= HOUR_MS;
      return hour;
    },
  };
}

/**
 * The `count` local days ending with the one the current hour belongs to: their dates, oldest first, and
 * `bounds`, where day i runs from bounds[i] to bounds[i + 1] (count + 1 hour starts).
 */
export function localDaysEndingNow(calendar: LocalCalendar, now: number, count: number): { days: string[]; bounds: number[] } {
  const today = calendar.dayOf(Math.floor(now / HOUR_MS) * HOUR_MS);
  const days = Array.from({ length: count }, (_, i) => addDays(today, i - count + 1));
  const bounds = [...days, addDays(today, 1)].map((day) => calendar.firstHourOf(day));
  return { days, bounds };
}
