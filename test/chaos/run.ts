/**
 * The chaos suite on its own: `npm run chaos -- [--jobs 1000] [--kills 20] [--stores sqlite,mysql,pg,redis,file]`.
 * Prints one line of figures per store; exits 1 if anything was lost or ran twice outside a killed process.
 */
import { parseArgs } from 'node:util';
import { runChaos, type ChaosStore } from './harness.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    kills: { type: 'string', default: '20' },
    processes: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
    stores: { type: 'string', default: 'sqlite,mysql,pg,redis,file' },
    'work-ms': { type: 'string', default: '500' },
  },
});
let bad = false;
for (const store of values.stores!.split(',') as ChaosStore[]) {
  const r = await runChaos({
    store, jobs: Number(values.jobs), kills: Number(values.kills), processes: Number(values.processes),
    concurrency: Number(values.concurrency), workMs: Number(values['work-ms']), restart: store === 'mysql' || store === 'redis', sigterm: true,
    log: (line) => console.error(line),
  });
  console.log(`${store.padEnd(7)} jobs ${r.jobs}  killed ${r.kills}  lost ${r.lost}  failed ${r.failed}  in-flight-at-kill ${r.inFlightAtKill}  ` +
    `started-twice ${r.startedTwice}  completed-twice ${r.completedTwice}  dup-outside-killed ${r.duplicatesOutsideKilled}  ` +
    `sigterm-exit ${r.sigtermExit}  back-after-restart ${r.backAfterRestartMs ?? '-'} ms  workers-back-in-5s ${r.workersBackWithin5s ?? '-'}  ${r.seconds} s`);
  if (r.lost || r.failed || r.duplicatesOutsideKilled || r.sigtermExit) bad = true;
}
process.exit(bad ? 1 : 0);
