/**
 * Logging with pino: JSON lines when stdout is not a terminal, readable lines when it is.
 * `logging: false` keeps warnings and errors and drops the per-job events.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(options: { logging: boolean; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const level = process.env.RAKIT_LOG_LEVEL ?? (options.logging ? 'info' : 'warn');
  const destination = options.destination ?? process.stdout;
  const usePretty = options.pretty ?? Boolean((destination as { isTTY?: boolean }).isTTY);
  if (usePretty) {
    return pino({ level, base: undefined }, pretty({
      sync: true,
      destination: destination as NodeJS.WritableStream & { fd?: number },
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
      singleLine: true,
    }));
  }
  const sink = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino({ level, base: { pid: process.pid } }, sink);
}
