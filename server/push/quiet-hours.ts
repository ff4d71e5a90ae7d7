/** Minutes since midnight of `now` on the wall clock of `timeZone`. */
export function minutesOfDay(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}

const toMinutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/**
 * True when `now` falls inside the quiet hours `start`–`end` ('HH:MM', start included, end excluded)
 * in `timeZone`. A range whose end is before its start crosses midnight (22:00–07:00). Pure.
 */
export function inQuietHours(now: Date, quiet: { start: string; end: string } | null, timeZone: string): boolean {
  if (quiet === null) return false;
  const minute = minutesOfDay(now, timeZone);
  const start = toMinutes(quiet.start);
  const end = toMinutes(quiet.end);
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}
