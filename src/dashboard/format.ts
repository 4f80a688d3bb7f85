/**
 * How the dashboard writes times and durations: local time in the configured timezone, and
 * ages like `3 s`, `4 min`, `2 h`.
 */
import { localTime } from '../schedule/timing.ts';

/** `YYYY-MM-DD HH:mm:ss` in `zone`, or `—` for none. */
export function at(ms: number | null, zone: string): string {
  return ms === null ? '—' : localTime(ms, zone).slice(0, 19);
}

/** A duration in the largest unit that keeps it readable. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** `3 s ago` or `in 4 min`. */
export function relative(ms: number, now: number): string {
  return ms <= now ? `${duration(now - ms)} ago` : `in ${duration(ms - now)}`;
}
