/**
 * A worker on a real SQLite jobs database, with a TestClock and a logger whose lines the test reads.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { resolveConfig, type JobConfigInput } from '../../src/infra/config.ts';
import type { JobClass } from '../../src/api/job-types.ts';
import { Registry } from '../../src/api/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import type { WorkerDeps } from '../../src/worker/worker-hooks.ts';
import type { DatabaseDriver } from '../../src/drivers/database/database.ts';
import { DEFAULT_WORKER_OPTIONS, type WorkerOptions } from '../../src/worker/worker-options.ts';
import { TestClock } from './clock.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface WorkerBench {
  db: TestDatabase;
  clock: TestClock;
  registry: Registry;
  logs: { level: number; msg: string; [k: string]: unknown }[];
  deps: WorkerDeps & { driver: DatabaseDriver };
  worker(options?: Partial<WorkerOptions>): Worker;
  push(jobClass: JobClass | string, payload?: object, over?: { queue?: string; scheduledAt?: number; overlapKey?: string }): Promise<string>;
}

export async function workerBench(config: JobConfigInput = {}, ...classes: JobClass[]): Promise<WorkerBench> {
  const db = await createTestDatabase('sqlite');
  const clock = new TestClock();
  const registry = new Registry(db.dir);
  for (const c of classes) registry.remember(c);
  const logs: WorkerBench['logs'] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const deps = {
    driver: db.driver(clock),
    registry,
    clock,
    logger: pino({ level: 'info' }, sink),
    config: resolveConfig({ sleep_ms: 20, ...config, table: db.table, failed_table: db.failedTable, database: db.url }, { root: db.dir }),
  };
  return {
    db, clock, registry, logs, deps,
    worker: (options = {}) => new Worker(deps, { ...DEFAULT_WORKER_OPTIONS, sleepMs: 20, ...options }),
    async push(jobClass, payload = {}, over = {}) {
      const name = typeof jobClass === 'string' ? jobClass : jobClass.nameOfJob;
      const result = await deps.driver.push({
        name, queue: over.queue ?? 'default', payload: JSON.stringify(payload),
        scheduledAt: over.scheduledAt ?? clock.now(), overlapKey: over.overlapKey ?? null,
      });
      return result.id!;
    },
  };
}
