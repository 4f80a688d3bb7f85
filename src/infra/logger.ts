/**
 * Logging with pino, on stderr (stdout is for a command's result): JSON lines when stderr is not
 * a terminal, readable lines when it is. On a terminal each attempt's end is one aligned line —
 * time, job, id, queue, duration and DONE / RETRY / FAIL / RELEASED / SKIPPED (and why) — and other events are the
 * time and the message. Times are in the configured timezone with the zone shown (`UTC` or
 * `+07:00`); JSON lines carry ISO-8601 UTC. `logging: false` keeps warnings and errors and
 * drops the per-job events.
 *
 * JSON lines are written asynchronously in batches of at least MIN_BATCH bytes, flushed every
 * FLUSH_MS, and flushed synchronously when the process exits (process.exit, a signal handled by
 * the worker, an uncaught error): a worker pays no write system call per job. Once the app
 * traces with OpenTelemetry (tracing.ts), JSON lines carry the active span's trace_id and span_id.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type pretty from 'pino-pretty';
import { whenTracing } from './tracing.ts';

/** pino-pretty is loaded only for a terminal: supervisor and cron runs never pay for it. */
const require = createRequire(import.meta.url);

export type { Logger };

/** How an attempt ended, as logged in the `status` field of its line. */
export type AttemptStatus = 'DONE' | 'RETRY' | 'FAIL' | 'RELEASED' | 'SKIPPED';

const MIN_BATCH = 4096;
const FLUSH_MS = 200;

export interface LoggerOptions {
  logging: boolean;
  /** IANA zone of the times on a terminal (config `timezone`); UTC by default. */
  timezone?: string;
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = process.env.RAKIT_LOG_LEVEL ?? (options.logging ? 'info' : 'warn');
  const destination = options.destination ?? process.stderr;
  const usePretty = options.pretty ?? Boolean((destination as { isTTY?: boolean }).isTTY);
  const timezone = options.timezone ?? 'UTC';
  if (usePretty) {
    const prettyStream = require('pino-pretty') as typeof pretty;
    return pino({ level, base: undefined }, prettyStream({
      sync: true,
      destination: destination as NodeJS.WritableStream & { fd?: number },
      ignore: 'pid,hostname,time,level',
      hideObject: true,
      customColors: 'message:reset',
      messageFormat: (log, key, label, extras) => humanLine(log, key, label, extras, timezone),
    }));
  }
  const sink = options.destination ?? pino.destination({ dest: 2, sync: false, minLength: MIN_BATCH, periodicFlush: FLUSH_MS });
  if (!options.destination) batched.add(sink as { flushSync(): void });
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  // Lines carry the active span's ids once the app traces (tracing.ts); until then no mixin runs.
  whenTracing((tracing) => ((logger as unknown as Record<symbol, unknown>)[pino.symbols.mixinSym] = () => tracing.logFields()));
  return logger;
}

const batched = new Set<{ flushSync(): void }>();

/** Writes out the batched log lines now: before an error message, so lines keep their order. */
export function flushLogs(): void {
  for (const sink of batched) {
    try {
      sink.flushSync();
    } catch {
      // not open yet, or already closed: nothing of it to write
    }
  }
}

type Colors = Parameters<pretty.MessageFormatFunc>[3]['colors'];

const STATUS_COLOR: Record<AttemptStatus, keyof Colors> = { DONE: 'green', RETRY: 'yellow', FAIL: 'red', RELEASED: 'yellow', SKIPPED: 'cyan' };

/** One line a person reads; see the header. @internal (not in the published types) */
export function humanLine(log: Record<string, unknown>, messageKey: string, levelLabel: string, { colors }: { colors: Colors }, timezone = 'UTC'): string {
  const time = colors.gray(wallClock(typeof log.time === 'number' ? log.time : Date.now(), timezone));
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
    const reason = typeof log.err === 'string' ? log.err : typeof log.why === 'string' ? log.why : null;
    const why = reason === null ? '' : `${' '.repeat(Math.max(1, 8 - status.length))}${colors.gray(reason.split('\n')[0]!.slice(0, 100))}`;
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

const zoned = new Map<string, Intl.DateTimeFormat>();

/**
 * `yyyy-mm-dd HH:MM:SS UTC`, or in another zone `yyyy-mm-dd HH:MM:SS +07:00`: what people read
 * in logs and tables, never the server's local time without a zone.
 */
export function wallClock(ms: number, timezone = 'UTC'): string {
  if (timezone === 'UTC') return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  let format = zoned.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone, hourCycle: 'h23', timeZoneName: 'longOffset',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    zoned.set(timezone, format);
  }
  const part = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, p.value]));
  const offset = part.timeZoneName === 'GMT' ? '+00:00' : String(part.timeZoneName).replace('GMT', '');
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${offset}`;
}
