/**
 * The filter options of job:failed, job:retry and job:forget (`--queue --name --error --since
 * --until`), read into the failed store's FailedFilter. A time is `@<Unix seconds>`, a date or
 * date and time in the configured timezone, or an age (`90m`, `6h`, `2d`: that long ago).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { FailedFilter } from '../store/driver.ts';
import { parseWhen } from '../infra/when.ts';

export interface FilterFlags {
  queue?: string;
  name?: string;
  error?: string;
  since?: string;
  until?: string;
}

const AGE = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function timeText(value: string): string {
  const text = value.trim();
  if (AGE.test(text) || /^@\d+(\.\d+)?$/.test(text)) return text;
  if (/^\d+(\.\d+)?$/.test(text)) throw new InvalidArgumentError(`"${text}" is ambiguous: write @${text} for Unix seconds, 6h for six hours ago, or a date such as 2026-12-31`);
  return text;
}

export function withFilterOptions(command: Command): Command {
  return command
    .option('--queue <queue>', 'only failed jobs of this queue')
    .option('--name <job>', 'only failed jobs of this job name')
    .option('--error <text>', 'only failed jobs whose error holds this text (any case)')
    .option('--since <time>', 'only those failed at or after: 6h, 2d (ago), 2026-12-31 10:00, @<Unix seconds>', timeText)
    .option('--until <time>', 'only those failed before (the same forms as --since)', timeText);
}

/** Whether any filter option was given. */
export function hasFilter(flags: FilterFlags): boolean {
  return [flags.queue, flags.name, flags.error, flags.since, flags.until].some((v) => v !== undefined);
}

export function filterOf(flags: FilterFlags, now: number, timezone: string): FailedFilter {
  const time = (text: string | undefined): number | null => {
    if (text === undefined) return null;
    const age = AGE.exec(text);
    if (age) return now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS];
    return parseWhen(text.startsWith('@') ? Number(text.slice(1)) : text, timezone);
  };
  return { queue: flags.queue ?? null, name: flags.name ?? null, error: flags.error || null, since: time(flags.since), until: time(flags.until) };
}

/** The options again, for the command line a person runs next. */
export function filterArgs(flags: FilterFlags): string {
  const quote = (v: string) => (/^[\w@:.\-/]+$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`);
  return (['queue', 'name', 'error', 'since', 'until'] as const).filter((k) => flags[k] !== undefined).map((k) => ` --${k} ${quote(flags[k]!)}`).join('');
}
