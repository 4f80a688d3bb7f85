/**
 * One measurement of one benchmark subject (ours on a store, or a peer), in a process of its
 * own so no subject warms up another's: `tsx bench/measure.ts <subject> <op> <n> [concurrency]`
 * prints one JSON line.
 */
import type { Subject } from './subject.ts';

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
