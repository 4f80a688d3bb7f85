/**
 * Jobs under OpenTelemetry (infra/tracing.ts), once the app traces: a dispatch is a PRODUCER span
 * whose context the job carries in its envelope (envelope.ts); each attempt is a CONSUMER span,
 * a child of that context, on every retry. A chain's next job (or its catch job) is handed on by
 * the attempt that makes it due: that attempt's context is kept in the record `trace/<job id>`,
 * which the next job's attempts take as their parent. Batch callbacks carry their batch's dispatch.
 */
import type { ReservedJob } from '../store/driver.ts';
import type { RecordStore } from '../store/record-store.ts';
import { tracing, type SpanNotes, type TraceCarrier, type Tracing } from '../infra/tracing.ts';
import { addToFlow, readFlow } from './envelope.ts';

const NAMESPACE = 'trace';
/** A handed-on context outlives any backoff a chain job is likely to wait. */
const HAND_ON_TTL_MS = 7 * 24 * 3_600_000;

function jobAttributes(id: string | undefined, name: string, queue: string, operation: 'send' | 'process'): Record<string, string> {
  return {
    'messaging.system': 'rakit', 'messaging.operation.type': operation, 'messaging.destination.name': queue,
    'rakit.job.name': name, 'rakit.job.queue': queue, ...(id ? { 'messaging.message.id': id, 'rakit.job.id': id } : {}),
  };
}

/** The payload with the dispatch's context in its envelope (as it is when nothing is traced). */
export function withTrace(carrier: TraceCarrier | null, payload: string): string {
  return carrier ? addToFlow({ trace: carrier }, payload) : payload;
}

/**
 * Stores jobs of `name` on `queue` in a dispatch span `dispatch <name>` (a batch: `dispatch batch`,
 * with its id and name): `store` gets the context to put in their envelopes and resolves to their
 * ids (null for one not stored).
 */
export function traceDispatch<T>(traced: Tracing, name: string, queue: string, store: (carrier: TraceCarrier | null) => Promise<T>, idsOf: (result: T) => (string | null)[], batch?: { id: string; name: string | null }): Promise<T> {
  const attributes = batch
    ? { 'messaging.system': 'rakit', 'messaging.operation.type': 'send', 'messaging.destination.name': queue, 'rakit.batch.id': batch.id, 'rakit.batch.name': batch.name ?? '' }
    : jobAttributes(undefined, name, queue, 'send');
  return traced.producing(batch ? 'dispatch batch' : `dispatch ${name}`, attributes, async (carrier, span) => {
    const result = await store(carrier);
    const ids = idsOf(result).filter((id): id is string => id !== null);
    if (ids.length === 1) span.set({ 'messaging.message.id': ids[0]!, 'rakit.job.id': ids[0]! });
    else if (ids.length > 1) span.set({ 'messaging.batch.message_count': ids.length });
    return result;
  });
}

/** Runs `attempt` in its span: wait from due to start, attempt number, outcome. */
export async function traceAttempt<K extends string | null>(traced: Tracing, records: RecordStore, job: ReservedJob, now: number, attempt: (span: SpanNotes) => Promise<K>): Promise<K> {
  const flow = readFlow(job.payload);
  let parent = flow?.trace ?? null;
  if (flow?.chain) {
    const handed = await records.getRecord(NAMESPACE, job.id).catch(() => null);
    if (handed) parent = JSON.parse(handed.value) as TraceCarrier;
  }
  const attributes = { ...jobAttributes(job.id, job.name, job.queue, 'process'), 'rakit.job.attempt': job.attempts, 'rakit.job.wait_ms': Math.max(0, now - job.scheduledAt) };
  return traced.consuming(`run ${job.name}`, attributes, parent, async (span) => {
    const kind = await attempt(span);
    span.set({ 'rakit.job.outcome': kind ?? 'abandoned' });
    return kind;
  });
}

/** Before a held job is made due from inside an attempt: its attempts will be children of this one. */
export async function handOnTrace(records: Pick<RecordStore, 'casRecord' | 'getRecord'>, id: string | null): Promise<void> {
  const traced = id ? tracing() : null;
  if (!traced || !id) return;
  // Tracing never holds a chain up: a context that cannot be kept only loses the link.
  await traced.producing('dispatch (chain)', { 'rakit.job.id': id, 'messaging.message.id': id, 'messaging.system': 'rakit', 'messaging.operation.type': 'send' }, async (carrier) => {
    if (!carrier) return;
    const current = await records.getRecord(NAMESPACE, id);
    await records.casRecord(NAMESPACE, id, current?.version ?? null, JSON.stringify(carrier), HAND_ON_TTL_MS);
  }).catch(() => undefined);
}
