/**
 * How every driver opens its store: once, on the first call that needs it, shared by the calls
 * made meanwhile. A failed open is forgotten, so the next call tries again (the server may be
 * back), and it fails with a message that says what to start or fix.
 */
import { ConnectionError, RakitError, coerceError } from '../infra/errors.ts';

export interface OpenAdvice {
  /** What could not be done: `reach the database at mysql2 root@127.0.0.1:3306/test`. */
  what: string;
  /** What the user can do about it: `start Redis or fix REDIS_URL / application/config/job.ts`. */
  fix: string;
}

export class LazyOpen {
  private opening: Promise<void> | null = null;

  /** `connect` checks the store answers; a RakitError it throws (missing tables) reaches the caller as it is. */
  constructor(private readonly connect: () => Promise<void>, private readonly advice: OpenAdvice) {}

  open(): Promise<void> {
    this.opening ??= this.connect().catch((error: unknown) => {
      this.opening = null;
      if (error instanceof RakitError) throw error;
      throw new ConnectionError(`Cannot ${this.advice.what}: ${coerceError(error).message} — ${this.advice.fix}`, { cause: error });
    });
    return this.opening;
  }

  /** Opens again on the next call (the store lost what the open checked, such as its tables). */
  reset(): void {
    this.opening = null;
  }
}
