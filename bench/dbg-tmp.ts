import { systemClock } from '../src/infra/clock.ts';
import { RedisDriver } from '../src/drivers/redis/redis.ts';
import { EVERY_FAILURE } from '../src/store/failed/failed-view.ts';
const keep = setInterval(() => undefined, 1000);
const prefix = 'dbgfm' + Date.now();
const d = new RedisDriver('redis://127.0.0.1:6379/0', prefix, systemClock);
await d.queues();
const r = (d as any).redis;
await r.sadd(`${prefix}:queues`, 'mail');
const N = 100_000;
for (let i = 0; i < N; i += 5000) {
  const p = r.pipeline();
  const sc: any[] = [];
  for (let n = i; n < i + 5000; n++) { const m = String(n + 1).padStart(12, '0'); p.hset(`${prefix}:{mail}:f:${m}`, { name: 'send-email', payload: '{"to":"x@y.z"}', okey: '', exception: 'Error: SMTP Timeout after 30000 ms\n    at SmtpClient.send (src/mail/smtp.ts:88:13)\n    at SendEmail.run (app/jobs/SendEmail.ts:21:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)', attempts: 3, failed_at: 1e12 + n * 1000 }); sc.push(1e12 + n * 1000, m); }
  p.zadd(`${prefix}:{mail}:failed`, ...sc); await p.exec();
}
await r.set(`${prefix}:{mail}:seq`, String(N));
const f = { ...EVERY_FAILURE, queue: 'mail', error: 'timeout', name: 'send-email' };
let tl = 0, tr = 0, tc = 0; let after: string | null = null;
let t = performance.now(); await d.countFailed(EVERY_FAILURE); tc = performance.now() - t;
for (;;) {
  t = performance.now();
  const page = await d.listFailed({ ...f, after, limit: 1000 });
  tl += performance.now() - t; t = performance.now();
  await d.requeueFailed(page.jobs.map((j) => j.id), Date.now());
  tr += performance.now() - t;
  after = page.next; if (!after) break;
}
console.log({ count: Math.round(tc), list: Math.round(tl), requeue: Math.round(tr) });
const keys = await r.keys(`${prefix}:*`);
for (let i = 0; i < keys.length; i += 1000) await r.del(...keys.slice(i, i + 1000));
clearInterval(keep); await d.close();
