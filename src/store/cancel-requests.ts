/**
 * Cancel requests for running jobs (`rakit job:cancel`, `Job.cancel`, the dashboard), built once
 * over the records for every store: a record `cancel/<job id>` with a time to live, and the watch
 * of the processes that hold running jobs. A watch reads the `cancel` namespace (one
 * listRecords) every CANCEL_POLL_MS while its process holds a running job, and not at all
 * otherwise: nothing is added to an attempt's path. The process manager watches for its worker
 * processes (so a process whose job blocks its event loop is still killed); an `--in-process`
 * worker watches for itself.
 */
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import { RECORD_ID_MAX, type RecordStore } from './record-store.ts';

export const CANCEL_NAMESPACE = 'cancel';

/**
 * How often a process holding running jobs reads the requests. A request is seen within this,
 * plus one read and one message: under the 1 s a cancel promises (decisions.md).
 */
export const CANCEL_POLL_MS = 400;

/** How long a request waits for a process to see it: a job that ends first leaves it to expire. */
export const CANCEL_TTL_MS = 10 * 60_000;

/** The most requests one read looks at (the newest first). */
const LIST_LIMIT = 1_000;

/** A cancel request as stored. */
export interface CancelRequest {
  at: number;
  /** Who asked: 'cli', 'api' or 'dashboard'. */
  by: string;
}

/** Asks whichever process runs job `id` to stop it; false when the id cannot be a job's. */
export async function requestCancel(records: Pick<RecordStore, 'getRecord' | 'casRecord'>, id: string, request: CancelRequest): Promise<boolean> {
  if (id.length === 0 || id.length > RECORD_ID_MAX) return false;
  const value = JSON.stringify(request);
  for (let i = 0; i < 3; i++) {
    const current = await records.getRecord(CANCEL_NAMESPACE, id);
    if (await records.casRecord(CANCEL_NAMESPACE, id, current?.version ?? null, value, CANCEL_TTL_MS)) return true;
  }
  return true; // another request for the same job was written meanwhile: it asks the same
}

/** What a watch asks of the process it watches for. */
export interface CancelTarget {
  /** Whether this process holds a running attempt of job `id`. */
  holds(id: string): boolean;
  /** Whether it holds any running attempt (none: the watch stops reading). */
  readonly busy: boolean;
  /** Stop job `id` (called on every read that still finds its request: must be idempotent). */
  cancel(id: string): void;
}

export class CancelWatch {
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private failing = false;

  constructor(
    private readonly records: Pick<RecordStore, 'listRecords'>,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly target: CancelTarget,
    private readonly everyMs = CANCEL_POLL_MS,
  ) {}

  /** An attempt started: reading begins (if it had stopped), and stops again once nothing runs. */
  wake(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.read(), this.everyMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async read(): Promise<void> {
    if (!this.target.busy) return this.close();
    if (this.reading) return;
    this.reading = true;
    try {
      const requests = await this.records.listRecords(CANCEL_NAMESPACE, LIST_LIMIT);
      this.failing = false;
      for (const { id } of requests) if (this.target.holds(id)) this.target.cancel(id);
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: coerceError(error) }, 'Cannot read the cancel requests; trying again');
      this.failing = true;
    } finally {
      this.reading = false;
    }
  }
}
