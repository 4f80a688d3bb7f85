/**
 * The upgrade of a database made by the earlier migrations (this repository's migrations/: the
 * jobs tables and the scheduler's three tables), on SQLite, MariaDB and PostgreSQL: `rakit
 * migrate` moves the held locks, recent claims and run history into records and drops the
 * tables; `--rollback` makes the tables again; a fresh app never gets them.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/infra/clock.ts';
import { resolveConfig } from '../../src/infra/config.ts';
import { createKnex } from '../../src/drivers/database/database-connection.ts';
import { createDriver } from '../../src/drivers/index.ts';
import { migrationSource } from '../../src/drivers/database/migrations.ts';
import { ScheduleStore } from '../../src/schedule/store.ts';
import { makeApp, REPO } from '../helpers/app.ts';
import { DATABASES, scratchDatabase } from '../helpers/servers.ts';

const TABLES = ['rakit_jobs_schedule_claims', 'rakit_jobs_schedule_locks', 'rakit_jobs_schedule_runs'];
const MOVED = 'rakit_20261207_move_rakit_jobs_schedule_tables_to_records';
/** The other upgrade `rakit migrate` runs beside it: the admin state's (src/drivers/database/database-upgrade.ts). */
const STATE = 'rakit_upgrade_rakit_jobs_state_to_records';
/** The failed store's page indexes, added to an existing database by the same `rakit migrate`. */
const INDEXES = 'rakit_upgrade_rakit_failed_jobs_page_indexes';
/** What a migrate run printed, one line per migration, in name order. */
const lines = (out: string) => out.split('\n').filter(Boolean).sort();

describe('rakit migrate on a database with the scheduler\'s tables of earlier versions', () => {
  for (const kind of DATABASES) {
    it(`${kind}: carries the held locks, recent claims and run history into records, and drops the tables`, async () => {
      const scratch = kind === 'sqlite' ? null : await scratchDatabase(kind);
      const app = makeApp({ database: scratch?.url ?? 'sqlite:storage/jobs.sqlite' });
      const knex = createKnex(scratch?.url ?? 'sqlite:storage/jobs.sqlite', app.dir);
      try {
        app.write('application/schedule.ts', "import { Schedule } from 'rakit';\nSchedule.call(() => undefined).name('nightly').dailyAt('02:00');\n");
        // The database as the earlier `rakit migrate` left it, with the state a scheduler wrote.
        cpSync(path.join(REPO, 'migrations'), path.join(app.dir, 'migrations'), { recursive: true });
        await knex.migrate.latest({ migrationSource: migrationSource(path.join(app.dir, 'migrations')) });
        const now = Date.now();
        const minute = Math.floor(now / 60_000) * 60_000;
        await knex('rakit_jobs_schedule_locks').insert([
          { name: 'overlap:nightly', owner: 'run-old', acquired_at: now - 30_000, expires_at: now + 60_000 },
          { name: 'overlap:stale', owner: 'run-dead', acquired_at: now - 600_000, expires_at: now - 300_000 },
        ]);
        await knex('rakit_jobs_schedule_claims').insert([
          { task: 'once', tick: minute, owner: 'run-a', claimed_at: now - 1_000 },
          { task: 'once', tick: minute - 3 * 3_600_000, owner: 'run-b', claimed_at: now - 3 * 3_600_000 },
        ]);
        const runs = Array.from({ length: 25 }, (_, i) => ({
          id: `run-${i}`, task: 'nightly', tick: minute - (25 - i) * 86_400_000, started_at: minute - (25 - i) * 86_400_000 + 1_000,
          finished_at: minute - (25 - i) * 86_400_000 + 3_500, outcome: i === 24 ? 'failure' : 'success', duration_ms: 2_500, output: `night ${i}\n`, host: 'web-1:42',
        }));
        await knex('rakit_jobs_schedule_runs').insert(runs);

        const migrated = await app.rakit(['migrate']);
        expect([migrated.code, migrated.stderr, lines(migrated.stdout)]).toEqual([0, '', [`Migrated: ${MOVED} (batch 2)`, `Migrated: ${INDEXES} (batch 2)`, `Migrated: ${STATE} (batch 2)`]]);
        for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(false);

        const driver = await createDriver(resolveConfig({ database: scratch?.url ?? 'sqlite:storage/jobs.sqlite' }, { root: app.dir }), systemClock);
        try {
          const store = new ScheduleStore(driver, systemClock);
          // The running task keeps its lock (until it lapses); the lapsed one is gone.
          expect(await store.locks()).toEqual([{ name: 'overlap:nightly', owner: 'run-old', acquiredAt: now - 30_000, expiresAt: now + 60_000 }]);
          expect(await store.acquire('overlap:nightly', 'run-new', 90_000)).toBe(false);
          // The tick claimed just before the upgrade stays claimed; a claim hours old was not worth carrying.
          expect(await store.claim('once', minute, 'run-new')).toBe(false);
          expect(await store.claim('once', minute - 3 * 3_600_000, 'run-new')).toBe(true);
          // The newest 20 runs, as they were.
          const kept = await store.runs('nightly', 50);
          expect(kept.map((r) => r.id)).toEqual(runs.slice(5).reverse().map((r) => r.id));
          expect(kept[0]).toEqual({ id: 'run-24', task: 'nightly', tick: runs[24]!.tick, startedAt: runs[24]!.started_at, finishedAt: runs[24]!.finished_at, outcome: 'failure', durationMs: 2_500, output: 'night 24\n', host: 'web-1:42' });
        } finally {
          await driver.close();
        }
        const listed = JSON.parse((await app.rakit(['schedule:list', '--json'])).stdout) as { tasks: { name: string; lastRun: { id: string; outcome: string } }[] };
        expect(listed.tasks[0]).toMatchObject({ name: 'nightly', lastRun: { id: 'run-24', outcome: 'failure' } });

        // Rolled back, the earlier version finds its tables again (empty); migrated again, they go.
        const back = await app.rakit(['migrate', '--rollback']);
        expect([back.code, back.stderr, lines(back.stdout)]).toEqual([0, '', [`Rolled back: ${MOVED} (batch 2)`, `Rolled back: ${INDEXES} (batch 2)`, `Rolled back: ${STATE} (batch 2)`]]);
        for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(true);
        expect(lines((await app.rakit(['migrate'])).stdout)).toEqual([`Migrated: ${MOVED} (batch 2)`, `Migrated: ${INDEXES} (batch 2)`, `Migrated: ${STATE} (batch 2)`]);
        for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(false);
      } finally {
        await knex.destroy();
        app.remove();
        await scratch?.drop();
      }
    }, 90_000);
  }

  it('a new app never gets the tables, rolled back or not', async () => {
    const app = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
    const knex = createKnex('sqlite:storage/jobs.sqlite', app.dir);
    try {
      expect((await app.rakit(['job:table'])).code).toBe(0);
      expect((await app.rakit(['schedule:table'])).code).toBe(0);
      const migrated = await app.rakit(['migrate']);
      expect(lines(migrated.stdout)).toEqual([expect.stringMatching(/^Migrated: \d{14}_create_rakit_jobs_table \(batch 1\)$/), `Migrated: ${MOVED} (batch 1)`, `Migrated: ${INDEXES} (batch 1)`, `Migrated: ${STATE} (batch 1)`]);
      expect((await app.rakit(['migrate', '--rollback'])).code).toBe(0);
      for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(false);
    } finally {
      await knex.destroy();
      app.remove();
    }
  }, 60_000);
});
