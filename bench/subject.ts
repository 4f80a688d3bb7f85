/**
 * One benchmark subject (ours on a store, or a peer) and one measurement, in a process of its
 * own so no subject warms up another's: `tsx bench/subject.ts <subject> <op> <n> [concurrency]`
 * prints one JSON line.
 */
export interface Subject {
  /** ms to dispatch n no-op jobs from application code, one call per job, 100 in flight. */
  dispatch(n: number): Promise<number>;
  /** ms to dispatch n no-op jobs in one bulk call (BullMQ's addBulk, our dispatchMany); absent where the peer has none. */
  bulk?(n: number): Promise<number>;
  /** ms to work off n no-op jobs already queued, at this concurrency. */
  process(n: number, concurrency: number): Promise<number>;
  /** dispatch→start ms of `samples` jobs sent 10 ms apart to an idle worker. */
  latency(samples: number): Promise<number[]>;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [name, op, n, concurrency] = process.argv.slice(2);
  const subjects = await import('./peers.ts');
  const ours = await import('./ours.ts');
  const all: Record<string, Subject> = {
    bullmq: subjects.bullmq, 'bee-queue': subjects.beeQueue, 'graphile-worker': subjects.graphile, 'laravel-loop': subjects.laravel,
    ...ours.OURS,
  };
  const subject = all[name!];
  if (!subject) throw new Error(`no subject ${name}`);
  const result = op === 'dispatch' ? await subject.dispatch(Number(n))
    : op === 'bulk' ? (subject.bulk ? await subject.bulk(Number(n)) : NaN)
    : op === 'process' ? await subject.process(Number(n), Number(concurrency))
    : await subject.latency(Number(n));
  console.log(JSON.stringify({ result }));
  process.exit(0);
}
