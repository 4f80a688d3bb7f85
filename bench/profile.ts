/**
 * `npm run bench:profile -- <store> [jobs] [concurrency] [job:runall flags]`: works off no-op
 * jobs through `rakit job:runall` under `node --cpu-prof` and prints the rate and where the
 * worker process spent its time (self time per function). The profiles (manager and worker)
 * are kept in bench/results/profiles/ for Chrome DevTools.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../test/helpers/app.ts';
import { benchApp, fill, markedMs } from './ours.ts';

const [store = 'redis', jobs = '20000', concurrency = '50', ...flags] = process.argv.slice(2);
const dir = path.join(REPO, 'bench', 'results', 'profiles');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const { app, drop } = await benchApp(store);
await fill(app, Number(jobs), true);
const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, path.join(REPO, 'bin', 'rakit.js'), 'job:runall', '--stop-when-empty', `--concurrency=${concurrency}`, ...flags],
  { cwd: app.dir, env: { ...app.env, RAKIT_LOG_LEVEL: 'warn' }, stdio: 'inherit' });
if (run.status !== 0) throw new Error(`job:runall exited ${run.status}`);
console.log(`${store}, concurrency ${concurrency}: ${Math.round((Number(jobs) / markedMs(app)) * 1000)} jobs/s`);
await drop();

interface Profile { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }
// The busiest main-thread profile is the worker's (the manager mostly waits).
const main = readdirSync(dir).filter((f) => f.endsWith('.0.001.cpuprofile')).map((f) => path.join(dir, f))
  .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
const profile = JSON.parse(readFileSync(main, 'utf8')) as Profile;
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byName = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/.*node_modules\//, '').replace(`file://${REPO}/`, '');
  const key = `${functionName || '(anonymous)'} ${where}${where ? `:${lineNumber + 1}` : ''}`;
  byName.set(key, (byName.get(key) ?? 0) + (self.get(node.id) ?? 0));
}
const total = profile.endTime - profile.startTime;
console.log(`worker process, ${Math.round(total / 1000)} ms profiled (start-up included):`);
for (const [key, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${String(Math.round(us / 1000)).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
}
process.exit(0);
