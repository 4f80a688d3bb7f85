/**
 * The real servers the tests use, and a check that fails with how to start one that is down.
 */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';

export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START: Record<string, string> = {
  mysql: 'start MariaDB: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd (or set TEST_MYSQL_URL)',
  pg: 'start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (or set TEST_PG_URL)',
};

/** Throws an error that says how to start the server when `url` does not answer. */
export async function requireDatabase(kind: 'mysql' | 'pg'): Promise<string> {
  const url = kind === 'mysql' ? MYSQL_URL : PG_URL;
  const knex = knexFactory({ client: kind === 'mysql' ? 'mysql2' : 'pg', connection: url, acquireConnectionTimeout: 5000 });
  try {
    await knex.raw('SELECT 1');
    return url;
  } catch (error) {
    throw new Error(`${url} is not reachable (${(error as Error).message}): ${HOW_TO_START[kind]}`);
  } finally {
    await knex.destroy();
  }
}

/** A table-name prefix no other test file uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export type DatabaseKind = 'sqlite' | 'mysql' | 'pg';
export const DATABASES: DatabaseKind[] = ['sqlite', 'mysql', 'pg'];

/** A new, empty database on the server of `kind` (for tests that run `rakit migrate`); drop it after. */
export async function scratchDatabase(kind: 'mysql' | 'pg'): Promise<{ url: string; drop(): Promise<void> }> {
  const base = await requireDatabase(kind);
  const name = uniqueName('rakit_test');
  const admin = knexFactory({ client: kind === 'mysql' ? 'mysql2' : 'pg', connection: base });
  await admin.raw(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (kind === 'pg') await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      else await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
      await admin.destroy();
    },
  };
}
