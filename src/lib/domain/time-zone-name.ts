/**
 * An IANA time zone name (`Australia/Sydney`, `America/Argentina/Buenos_Aires`, `UTC`) the runtime knows: the one
 * check for every time zone a person or the environment gives (`WATCHFLOOR_TIMEZONE`, a wall's, push quiet hours).
 * Offsets such as `+05:30` (or `−05:00` with a Unicode minus) are refused although Intl takes them: Postgres reads
 * `+05:30` as a POSIX zone, five and a half hours *west* of Greenwich, so the server's SQL and its JavaScript
 * would disagree by eleven hours; and an offset knows no daylight saving time, so quiet hours kept with one move by
 * an hour twice a year. Pure.
 */
export function isTimeZoneName(value: string): boolean {
  if (value.length > 64 || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
