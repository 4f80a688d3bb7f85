/**
 * The process-wide context behind the public API: configuration, driver, registry, logger and
 * clock, created on first use from the app in the working directory (or from `configure()`).
 * When nothing else is left for the process to do, its connections are closed (keep-alive.ts).
 */
import type { Clock } from '../infra/clock.ts';
import { skippingClock, systemClock } from '../infra/clock.ts';
import { loadConfig, resolveConfig, type JobConfig, type JobConfigInput } from '../infra/config.ts';
import type { AdminDriver } from '../store/driver.ts';
import { createDriver } from '../drivers/index.ts';
import { holding } from '../infra/keep-alive.ts';
import { afterCommitsStored } from './in-transaction.ts';
import type { Logger } from '../infra/logger.ts';
import { Registry } from './registry.ts';
import { fakeDriver, faking } from './inline/fake-store.ts';
import { noteReading } from './dispatch-scope.ts';
import { tracing, tracingRoot } from '../infra/tracing.ts';

export interface Runtime {
  config: JobConfig;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** The driver, connected on its first call. */
  driver: AdminDriver;
}

let current: Promise<Runtime> | null = null;

export interface RuntimeOptions {
  clock?: Clock;
  logger?: Logger;
  root?: string;
}

/** The runtime of this process, loading application/config/job.ts on first use; its driver seen through the fake while `Job.fake()` is on. */
export function runtime(): Promise<Runtime> {
  current ??= loadConfig().then(async (config) => build(config, {})).catch((error: unknown) => {
    current = null;
    throw error;
  });
  return faking() ? current.then(faked) : current;
}

/** The seam of `Job.fake()`: every dispatch gets its driver from runtime(). */
function faked(rt: Runtime): Runtime {
  if (!faking()) return rt;
  const classOf = (name: string) => {
    const handler = rt.registry.resolve(name);
    return handler?.kind === 'class' ? handler.jobClass : null;
  };
  // A dispatch's first clock reading is its time, so a recorded delay is the one it was given.
  const clock: Clock = { now: () => noteReading(rt.clock.now()), sleep: (ms, signal) => rt.clock.sleep(ms, signal), after: (ms, fn) => rt.clock.after(ms, fn) };
  return { ...rt, clock, driver: fakeDriver(rt.driver, () => rt.clock.now(), classOf) };
}

/** Sets the configuration programmatically (tests, apps that keep config elsewhere). */
export async function configure(input: JobConfigInput | JobConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  await closeRuntime();
  const config = 'source' in input && 'root' in input
    ? (input as JobConfig)
    : resolveConfig(input, { root: options.root ?? process.cwd(), source: '<configure()>', env: {} });
  const built = build(config, options);
  current = built;
  return built;
}

async function build(config: JobConfig, options: RuntimeOptions): Promise<Runtime> {
  const sync = config.driver === 'sync';
  tracingRoot(config.root); // the app's @opentelemetry/api is looked for there, once it traces
  const clock = options.clock ?? (sync ? skippingClock() : systemClock);
  // pino loads with the first runtime, not with every module that may make one (`rakit --help`).
  const logger = options.logger ?? (await import('../infra/logger.ts')).createLogger({ logging: config.logging, timezone: config.timezone });
  const parts = { config, clock, registry: new Registry(config.root), logger };
  const driver = await createDriver(config, clock);
  // The sync driver runs what a dispatch stored before it resolves, with the worker's loop (loaded only then).
  return { ...parts, driver: sync ? (await import('./inline/sync-driver.ts')).syncDriver({ ...parts, driver }) : driver };
}

// The event loop is empty (idle connections do not count): close them, and the process ends.
process.on('beforeExit', () => {
  if (current) void closeRuntime().catch(() => undefined);
});

/** Closes the driver's connections, holding the process open until they are closed. */
export async function closeRuntime(): Promise<void> {
  if (current) await afterCommitsStored();
  const closing = current;
  current = null;
  if (!closing) return;
  await holding(async () => {
    const rt = await closing.catch(() => null);
    // The spans of the last jobs, which the app's span processor may still hold.
    await tracing()?.flush().catch(() => undefined);
    await rt?.driver.close();
  });
}
