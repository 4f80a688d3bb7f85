/**
 * Typed errors. Every error a user can cause carries the exit code the CLI returns for it:
 * 2 for bad usage or bad configuration, 1 for a runtime failure.
 */
export class RakitError extends Error {
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user asked for something malformed: a flag, a config key, a date, a payload. Exit 2. */
export class UsageError extends RakitError {
  override readonly exitCode: number = 2;
}

/** The configuration file is missing or holds a wrong key, type or value. Exit 2. */
export class ConfigError extends UsageError {}

/** An input an error repeats, cut to `max` characters and an ellipsis: a 300-character queue name is not read back whole. */
export function cutInput(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A payload that cannot be stored as JSON, or is too large or too deeply nested. */
export class PayloadError extends UsageError {}

/** A `when` that cannot be read as a time. */
export class DateError extends UsageError {}

/** A job name with no class and no listener. */
export class UnknownJobError extends UsageError {}

/** A job module that throws on import, or two classes claiming one name. */
export class DiscoveryError extends UsageError {}

/** A server (database, Redis, memcached) that cannot be reached, or tables that are missing. */
export class ConnectionError extends RakitError {}

/**
 * A statement the database refused, named by operation and error code; never carries the
 * statement or its values. `code` is the driver's (`ER_DATA_TOO_LONG`, `22001`).
 */
export class DatabaseError extends RakitError {
  code = '';
}

/** The attempt ran past its job's timeout. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The attempt was cancelled from outside (`rakit job:cancel`, `Job.cancel`, the dashboard): the reason its AbortSignal gives. */
export class CancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelledError';
  }
}

/** A worker process died under its job: a crash, a stray `process.exit()`, a kill from outside. */
export class WorkerDiedError extends Error {
  constructor(readonly exitCode: number | null, readonly signal: string | null, message: string) {
    super(message);
    this.name = 'WorkerDiedError';
  }

  static of(job: { name: string; id: string }, exitCode: number | null, signal: string | null): WorkerDiedError {
    const how = signal ?? `exit code ${exitCode}`;
    return new WorkerDiedError(exitCode, signal, `The worker process running job "${job.name}" (id ${job.id}) died (${how})`);
  }
}

/** Thrown by a job to fail at once, without the retries it has left (as BullMQ's UnrecoverableError). */
export class UnrecoverableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecoverableError';
  }
}

/** Turns whatever was thrown into an Error, so every catch can rely on name/message/stack. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`Non-error thrown: ${String(thrown)}`);
  }
}
