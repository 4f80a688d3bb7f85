import { Command } from 'commander';
import { runtime } from '../../api/runtime.ts';
import { ScheduleStore, overlapLock } from '../../schedule/store.ts';

export function scheduleClearLocksCommand(): Command {
  return new Command('schedule:clear-locks')
    .description('remove the scheduler\'s run locks (of the tasks named, or all) and say which')
    .argument('[tasks...]', 'task names (default: every lock)')
    .action(async (names: string[]) => {
      const rt = await runtime();
      const store = new ScheduleStore(rt.driver, rt.clock);
      const removed = await store.clearLocks(names.length > 0 ? names.map(overlapLock) : undefined);
      if (removed.length === 0) console.log('No scheduler locks were held.');
      const now = rt.clock.now();
      for (const lock of removed) {
        const state = lock.expiresAt > now ? `lapsing in ${Math.ceil((lock.expiresAt - now) / 1000)} s` : 'lapsed';
        console.log(`Removed ${lock.name}: held by run ${lock.owner} for ${Math.round((now - lock.acquiredAt) / 1000)} s (${state})`);
      }
    });
}
