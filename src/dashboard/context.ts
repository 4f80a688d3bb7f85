/**
 * What every dashboard page reads from: the driver with its admin capabilities, the scheduler's
 * tasks and store, the configuration and the clock, opened once for the server's lifetime; and
 * the per-request variables the middleware sets (session, form token, read-only).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Clock } from '../infra/clock.ts';
import type { JobConfig } from '../infra/config.ts';
import type { AdminDriver } from '../store/driver.ts';
import { runtime } from '../api/runtime.ts';
import { loadSchedule } from '../schedule/load.ts';
import { ScheduleRunner } from '../schedule/runner.ts';
import { ScheduleStore } from '../schedule/store.ts';
import type { ScheduledTask } from '../schedule/task.ts';

export interface DashboardOptions {
  /** Hide every action and refuse every POST with 403. */
  readOnly?: boolean;
  /** Where the dashboard is mounted in an app's own server, e.g. `/admin/jobs`; `` at the root. */
  basePath?: string;
}

export interface Dashboard {
  driver: AdminDriver;
  config: JobConfig;
  clock: Clock;
  tasks: ScheduledTask[];
  schedule: ScheduleStore;
  /** The timezone a task runs in (its own or the configured one). */
  zoneOf(task: ScheduledTask): string;
  readOnly: boolean;
  basePath: string;
  /** Jobs committed to the outbox and not yet moved to the job store; null without an outbox (src/flows/outbox/). */
  outboxBacklog(): Promise<number | null>;
  close(): Promise<void>;
}

/** Whether the configuration asks visitors to sign in (a password or a token is set). */
export const guarded = (d: Pick<Dashboard, 'config'>) => Boolean(d.config.dashboard_password || d.config.dashboard_token);

/** The Hono environment of the dashboard's routes. */
export interface DashboardEnv {
  Bindings: HttpBindings;
  Variables: {
    /** The session id, once the visitor has one (always, without a password). */
    sid: string | null;
    /** The form token of this session, for the hidden `_csrf` field of every form. */
    csrfToken: string;
  };
}

/** The app's runtime and scheduler. */
export async function openDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const rt = await runtime();
  const tasks = await loadSchedule(rt.config.root, rt.config.timezone);
  const schedule = new ScheduleStore(rt.driver, rt.clock);
  const runner = new ScheduleRunner(tasks, { store: schedule, clock: rt.clock, timezone: rt.config.timezone, root: rt.config.root });
  // With an outbox, one connection to the app's database, opened for the server's lifetime.
  const outbox = rt.config.outbox && rt.config.driver !== 'database' ? (await import('../flows/outbox/outbox-store.ts')).openBacklog(rt.config) : null;
  return {
    driver: rt.driver,
    config: rt.config,
    clock: rt.clock,
    tasks,
    schedule,
    zoneOf: (task) => runner.zoneOf(task),
    readOnly: options.readOnly ?? false,
    basePath: (options.basePath ?? '').replace(/\/+$/, ''),
    outboxBacklog: async () => (outbox ? outbox.read() : null),
    close: async () => outbox?.close(), // the runtime's driver is closed with the runtime
  };
}
