/**
 * Groups within a queue as an app uses them, on SQLite (the default) and Redis: one tenant floods
 * the queue through `static group`, ten others dispatch one job each with `.group()`, and a
 * worker runs every other tenant's job among the first it starts; the job sees its queue and
 * its group apart; `job:status` counts the groups as their queue and `--groups` lists them; a bad
 * group id is refused before anything is stored. The claim order on all seven stores is pinned
 * by test/conformance/group-contract.ts.
 */
import { describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.ts';
import { appOnStore } from './helpers/app-on-store.ts';
import { STORES } from './helpers/stores.ts';

const REPORT = `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Report extends Jobable<{ tenant: string; n: number }> {
  static group = (payload: { tenant: string }) => payload.tenant;
  async run() { appendFileSync('storage/ran.log', \`\${this.queue} \${this.group} \${this.get('n')}\\n\`); }
}
`;

const FLOOD = `import Report from './application/jobs/Report.ts';
import { Job } from 'rakit';
await Report.dispatchMany(Array.from({ length: 300 }, (_, n) => ({ tenant: 'acme', n })));
const one = [];
for (const t of 'bcdefghijk') one.push(await Job.dispatch('report', { tenant: 'x', n: 1000 }).group('tenant-' + t));
console.log(JSON.stringify(one.map((r) => [r.queue, r.group, r.outcome])));
`;

const BAD = `import { Job } from 'rakit';
try { await Job.dispatch('report', { tenant: 'a', n: 0 }).group('no spaces'); console.log('stored'); }
catch (error) { console.log((error as Error).message); }
`;

for (const store of STORES.filter((s) => ['sqlite', 'redis'].includes(s.label))) {
  describe(`groups on ${store.label}`, () => {
    let app: TestApp;
    appOnStore(store, { 'application/jobs/Report.ts': REPORT }, (made) => (app = made));

    it("one tenant's flood does not hold back ten others: each runs among the first jobs the worker starts", async () => {
      const bad = await app.script('bad.ts', BAD);
      expect(bad.stdout).toMatch(/^Bad group "no spaces" from \.group\(\): start with a letter or digit/);
      const flood = await app.script('flood.ts', FLOOD);
      expect(flood.code, flood.stderr).toBe(0);
      expect(JSON.parse(flood.stdout.trim().split('\n').at(-1)!)[0]).toEqual(['default', 'tenant-b', 'stored']);

      const status = JSON.parse((await app.rakit(['job:status', '--groups', '--json'])).stdout.trim().split('\n').at(-1)!) as {
        queues: { queue: string; ready: number }[]; groups: { queue: string; group: string; ready: number }[];
      };
      expect(status.queues.map((q) => [q.queue, q.ready])).toEqual([['default', 310]]);
      expect(status.groups[0]).toMatchObject({ queue: 'default', group: 'acme', ready: 300 });
      expect(status.groups).toHaveLength(11);
      const table = await app.rakit(['job:status', '--groups']);
      expect(table.stdout).toMatch(/Groups, the largest backlogs first:\n.*QUEUE +GROUP +READY/);
      expect(table.stdout).toMatch(/default +acme +300/);

      const run = await app.rakit(['job:runall', '--stop-when-empty', '--concurrency=2', '--processes=1']);
      expect(run.code, run.stderr).toBe(0);
      const ran = app.ranLog();
      expect(ran).toHaveLength(310);
      // Eleven groups, two slots: every other tenant's job starts among the first 2 × 11 + a claim's worth.
      const firstOthers = ran.findIndex((l) => l.startsWith('default tenant-'));
      const lastOthers = ran.findLastIndex((l) => l.startsWith('default tenant-'));
      expect(firstOthers).toBeGreaterThanOrEqual(0);
      expect(lastOthers, ran.slice(0, 30).join('\n')).toBeLessThan(30);
      expect(ran.filter((l) => l.startsWith('default acme '))).toHaveLength(300);
    }, 90_000);

    it('a paused group is left waiting while the rest of its queue runs; resumed, it runs', async () => {
      const flood = await app.script('flood2.ts', FLOOD.replace('length: 300', 'length: 5'));
      expect(flood.code, flood.stderr).toBe(0);
      const paused = await app.rakit(['job:pause', 'default', '--group', 'acme']);
      expect(paused.stdout).toMatch(/^Paused default \(group acme\): workers claim nothing from it within about a second \(rakit job:resume default --group acme to undo\)/);
      const before = app.ranLog().length;
      expect((await app.rakit(['job:runall', '--stop-when-empty', '--concurrency=2', '--processes=1'])).code).toBe(0);
      const ran = app.ranLog().slice(before);
      expect(ran).toHaveLength(10);
      expect(ran.some((l) => l.startsWith('default acme '))).toBe(false);
      const status = JSON.parse((await app.rakit(['job:status', '--groups', '--json'])).stdout.trim().split('\n').at(-1)!) as { groups: { group: string; ready: number; paused: boolean }[] };
      expect(status.groups.find((g) => g.group === 'acme')).toMatchObject({ ready: 5, paused: true });
      expect((await app.rakit(['job:resume', 'default', '--group', 'acme'])).stdout).toMatch(/^Resumed default \(group acme\)/);
      expect((await app.rakit(['job:runall', '--stop-when-empty'])).code).toBe(0);
      expect(app.ranLog().slice(before + 10)).toHaveLength(5);
    }, 90_000);

    it("chained and batched jobs go to their class's group or the one given, and run in it", async () => {
      const flows = await app.script('flows.ts', `import Report from './application/jobs/Report.ts';
import { Job } from 'rakit';
const chain = await Job.chain([new Report({ tenant: 'chain-a', n: 1 }), Job.make('report', { tenant: 'x', n: 2 }).onGroup('chain-b')]).dispatch();
await Job.batch([new Report({ tenant: 'batch-a', n: 3 }), new Report({ tenant: 'y', n: 4 }).onGroup('batch-b')]).dispatch();
console.log(JSON.stringify(chain.jobs.map((j) => [j.queue, j.group])));`);
      expect(flows.code, flows.stderr).toBe(0);
      expect(JSON.parse(flows.stdout.trim().split('\n').at(-1)!)).toEqual([['default', 'chain-a'], ['default', 'chain-b']]);
      const before = app.ranLog().length;
      expect((await app.rakit(['job:runall', '--stop-when-empty'])).code).toBe(0);
      expect(app.ranLog().slice(before).sort()).toEqual(['default batch-a 3', 'default batch-b 4', 'default chain-a 1', 'default chain-b 2']);
    }, 90_000);
  });
}
