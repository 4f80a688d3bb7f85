/**
 * Checks a configured timezone without loading a date library (a cron run pays every import).
 */
import { DateError } from './errors.ts';

/** Throws a DateError when `timezone` is not an IANA zone this Node knows. */
export function assertTimezone(timezone: string): void {
  if (timezone === 'UTC') return; // the default, and known everywhere: no need to load the zone data
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new DateError(`Unknown timezone "${timezone}": use an IANA name such as "Asia/Jakarta" or "UTC"`);
  }
}
