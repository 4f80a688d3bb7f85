/**
 * Deduplication windows as an app uses them, on SQLite (the default) and Redis: a burst of
 * debounced dispatches from two processes at once runs the last once, with its payload; a
 * throttled job is stored once per window whoever dispatches it; `uniqueFor` on the class does the
 * same by its overlap key. The racing cases on all seven stores are in
 * test/conformance/dedup-contract.ts.
 */
import { describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.ts';
import { appOnStore } from './helpers/app-on-store.ts';
import { STORES } from './helpers/stores.ts';

const DIGEST = `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Digest extends Jobable<{ user: number; n: number }> {
  static uniqueFor = 30;
  static tries = 1;
  uniqueId() { return this.get('user'); }
  async run() { appendFileSync('storage/ran.log', \`digest \${this.get('user')} \${this.get('n')}\\n\`); }
}
`;

const burst = (from: number) => `import { Job } from 'rakit';
const results = [];
for (let n = ${from}; n < ${from} + 5; n++) results.push(await Job.dispatch('record', { tag: 'edit-' + n }).debounce('reindex', 700));
console.log(JSON.stringify(results.map((r) => r.outcome)));
`;

for (const store of STORES.filter((s) => ['sqlite', 'redis'].includes(s.label))) {
  describe(`deduplication on ${store.label}`, () => {
    let app: TestApp;
    appOnStore(store, { 'application/jobs/Digest.ts': DIGEST }, (made) => (app = made));

    it('a burst of debounced dispatches from two processes runs once, the last named, with its own payload', async () => {
      const [a, b] = await Promise.all([app.script('burst-a.ts', burst(0)), app.script('burst-b.ts', burst(100))]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const outcomes = [...JSON.parse(a.stdout.trim().split('\n').at(-1)!), ...JSON.parse(b.stdout.trim().split('\n').at(-1)!)];
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'replaced')).toHaveLength(9);
      await new Promise((resolve) => setTimeout(resolve, 800)); // the window: real time on purpose
      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      const ran = app.ranLog();
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatch(/^edit-(4|104)$/);
    }, 60_000);

    it('uniqueFor stores one digest per user per window, whoever dispatches it', async () => {
      const script = `import { Job } from 'rakit';
const out = [];
for (const user of [1, 1, 2, 1]) out.push((await Job.dispatch('digest', { user, n: out.length })).outcome);
console.log(JSON.stringify(out));
`;
      const first = await app.script('digest-1.ts', script);
      const again = await app.script('digest-2.ts', script);
      expect(JSON.parse(first.stdout.trim().split('\n').at(-1)!)).toEqual(['stored', 'skipped', 'stored', 'skipped']);
      expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      expect(app.ranLog().filter((l) => l.startsWith('digest')).sort()).toEqual(['digest 1 0', 'digest 2 2']);
    }, 60_000);
  });
}
