/**
 * One process of racing claimers: `claimers` schedule stores, each on a driver with its own
 * connections, open them, say "ready", and on "go" all claim the same (task, tick) at once;
 * prints the owners that won.
 */
import { resolveConfig } from '../../src/infra/config.ts';
import { systemClock } from '../../src/infra/clock.ts';
import { createDriver } from '../../src/drivers/index.ts';
import { holding } from '../../src/infra/keep-alive.ts';
import { ScheduleStore } from '../../src/schedule/store.ts';

const { config, task, tick, claimers } = JSON.parse(process.argv[2]!) as { config: Record<string, unknown>; task: string; tick: number; claimers: number };
const resolved = resolveConfig(config, { root: process.cwd(), env: {} });
const drivers = await Promise.all(Array.from({ length: claimers }, () => createDriver(resolved, systemClock)));
const stores = drivers.map((driver) => new ScheduleStore(driver, systemClock));
await holding(() => Promise.all(stores.map((s) => s.runs('warm-up', 1)))); // connections open before the race
const go = new Promise((resolve) => process.once('message', resolve));
process.send!('ready');
await go;
const owners = stores.map((_, i) => `${process.pid}-${i}`);
// Idle connections never hold a process open; the race is work in flight, as a command's is.
const won = await holding(() => Promise.all(stores.map((s, i) => s.claim(task, tick, owners[i]!, 60_000))));
await holding(() => Promise.all(drivers.map((d) => d.close())));
process.stdout.write(JSON.stringify(owners.filter((_, i) => won[i])));
process.disconnect();
