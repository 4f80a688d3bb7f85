/**
 * A statement the database refuses reaches the user as a DatabaseError that names the operation
 * and the error code, never the SQL or its values: the payload of a job is not in its message,
 * in what a log line of it would hold, nor in anything it carries.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../src/store/driver.ts';
import { DatabaseError } from '../src/index.ts'; // users catch it from the package
import { systemClock } from '../src/infra/clock.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { DATABASES } from './helpers/servers.ts';

const SECRET = 'card-4111-1111-1111-1111';

for (const kind of DATABASES) {
  describe(`database errors on ${kind}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
    }, 60_000);
    afterAll(() => db?.drop());

    /** The error of a push, and everything of it that could be logged. */
    async function failedPush(job: Partial<NewJob>): Promise<{ error: Error; logged: string }> {
      const driver = db.driver(systemClock);
      const error = await driver
        .push({ name: 'send-email', queue: 'default', payload: JSON.stringify({ to: SECRET }), scheduledAt: Date.now(), overlapKey: null, ...job } as NewJob)
        .then(() => new Error('the push was stored'), (e: Error) => e);
      return { error, logged: JSON.stringify(pino.stdSerializers.err(error)) + String(error.stack) };
    }

    it('names the operation and the code of a refused statement, without the statement or the payload', async () => {
      const { error, logged } = await failedPush({ name: null as unknown as string });
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error.message).toMatch(new RegExp(`^Database error in insert on ${db.table} \\((ER_BAD_NULL_ERROR|23502|SQLITE_CONSTRAINT_NOTNULL)\\): .*name`));
      for (const text of [error.message, logged]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toMatch(/insert into|values \(/i);
      }
      expect(Number((await db.knex(db.table).count({ n: '*' }))[0]!.n)).toBe(0);
    });

    // SQLite does not enforce a column's length.
    if (kind !== 'sqlite') it('an overlap key over its column, given to the driver as is, fails the same way', async () => {
      const { error, logged } = await failedPush({ overlapKey: `send-email#${SECRET}${'k'.repeat(300)}@default` });
      expect(error.message).toMatch(new RegExp(`^Database error in insert on ${db.table} \\((ER_DATA_TOO_LONG|22001)\\): `));
      expect(error.message + logged).not.toContain(SECRET);
    });

    it('a refused record write names its operation and table, without the values', async () => {
      const error = await db.driver(systemClock)
        .casRecord('progress', null as unknown as string, null, SECRET, null)
        .then(() => new Error('the record was stored'), (e: Error) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error.message).toMatch(new RegExp(`^Database error in insert on ${db.table}_records \\((ER_BAD_NULL_ERROR|23502|SQLITE_CONSTRAINT_NOTNULL)\\): `));
      expect(error.message + JSON.stringify(pino.stdSerializers.err(error)) + String(error.stack)).not.toContain(SECRET);
    });
  });
}
