/**
 * Logging with pino: JSON lines when stdout is not a terminal, readable lines when it is.
 * On a terminal each attempt's end is one aligned line — time, job, id, queue, duration and
 * DONE / RETRY / FAIL / RELEASED — and other events are the time and the message.
 * `logging: false` keeps warnings and errors and drops the per-job events.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type pretty from 'pino-pretty';

/** pino-pretty is loaded only for a terminal: supervisor and cron runs never pay for it. */
const require = createRequire(import.meta.url);

export type { Logger };

/** How an attempt ended, as logged in the `status` field of its line. */
export type AttemptStatus = 'DONE' | 'RETRY' | 'FAIL' | 'RELEASED';

export function createLogger(options: { logging: boolean; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const level = process.env.RAKIT_LOG_LEVEL ?? (options.logging ? 'info' : 'warn');
  const destination = options.destination ?? process.stdout;
  const usePretty = options.pretty ?? Boolean((destination as { isTTY?: boolean }).isTTY);
  if (usePretty) {
    const prettyStream = require('pino-pretty') as typeof pretty;
    return pino({ level, base: undefined }, prettyStream({
      sync: true,
      destination: destination as NodeJS.WritableStream & { fd?: number },
      ignore: 'pid,hostname,time,level',
      hideObject: true,
      customColors: 'message:reset',
      messageFormat: humanLine,
    }));
  }
  const sink = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino({ level, base: { pid: process.pid } }, sink);
}

type Colors = Parameters<pretty.MessageFormatFunc>[3]['colors'];

const STATUS_COLOR: Record<AttemptStatus, keyof Colors> = { DONE: 'green', RETRY: 'yellow', FAIL: 'red', RELEASED: 'yellow' };

/** One line a person reads; see the header. @internal (not in the published types) */
export function humanLine(log: Record<string, unknown>, messageKey: string, levelLabel: string, { colors }: { colors: Colors }): string {
  const time = colors.gray(localTime(typeof log.time === 'number' ? log.time : Date.now()));
  const status = log.status as AttemptStatus | undefined;
  if (status && STATUS_COLOR[status]) {
    const paint = colors[STATUS_COLOR[status]] as (text: string) => string;
    const cells = [
      String(log.job ?? '').padEnd(28),
      colors.gray(`#${String(log.id ?? '')}`.padEnd(12)),
      String(log.queue ?? '').padEnd(10),
      formatDuration(Number(log.ms ?? 0)).padStart(8),
      paint(status),
    ];
    const why = typeof log.err === 'string' ? `${' '.repeat(8 - status.length)}${colors.gray(log.err.split('\n')[0]!.slice(0, 100))}` : '';
    return `${time}  ${cells.join(' ')}${why}`;
  }
  const message = String(log[messageKey] ?? '');
  const err = log.err as { message?: string } | string | undefined;
  const detail = typeof err === 'string' ? err : err?.message;
  const label = levelLabel === 'warn' ? colors.yellow('WARN ') : levelLabel === 'error' || levelLabel === 'fatal' ? colors.red('ERROR ') : '';
  return `${time}  ${label}${message}${detail && !message.includes(detail) ? `: ${detail}` : ''}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** `yyyy-mm-dd HH:MM:SS` in local time. */
function localTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
