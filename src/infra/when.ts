/**
 * Reads the `when` of a dispatch: a Date, an ISO-8601 string, 'YYYY-MM-DD HH:mm[:ss]' in the
 * configured timezone, or Unix seconds as a number. Returns epoch milliseconds; a past time
 * means due now. A string of digits only is refused: `20261231` is a date to a person and
 * Unix seconds (1970) to a parser.
 */
import { DateTime } from 'luxon';
import { DateError } from './errors.ts';

export type When = Date | string | number;

const LOCAL_FORMATS = ['yyyy-MM-dd HH:mm:ss', 'yyyy-MM-dd HH:mm', 'yyyy-MM-dd'];

export function parseWhen(when: When, timezone: string): number {
  if (when instanceof Date) {
    const ms = when.getTime();
    if (Number.isNaN(ms)) throw new DateError('Invalid Date given as the time to run the job');
    return ms;
  }
  if (typeof when === 'number') {
    if (!Number.isFinite(when) || when < 0) {
      throw new DateError(`Bad time ${when}: give Unix seconds as a positive number`);
    }
    return Math.round(when * 1000);
  }
  if (typeof when === 'string') {
    const text = when.trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      throw new DateError(
        `"${text}" is ambiguous (a date or Unix seconds?): give Unix seconds as a number, ` +
          `or a date as ISO-8601 (2026-12-31T10:00:00Z) or 'YYYY-MM-DD HH:mm[:ss]'`,
      );
    }
    for (const format of LOCAL_FORMATS) {
      const local = DateTime.fromFormat(text, format, { zone: timezone });
      if (local.isValid) return local.toMillis();
    }
    const iso = DateTime.fromISO(text, { zone: timezone });
    if (iso.isValid) return iso.toMillis();
    throw new DateError(
      `Cannot read "${when}" as a time: use ISO-8601 (2026-12-31T10:00:00Z), ` +
        `'YYYY-MM-DD HH:mm[:ss]' (in ${timezone}), or Unix seconds as a number`,
    );
  }
  throw new DateError(`Bad time of type ${typeof when}: give a Date, a string or Unix seconds`);
}
