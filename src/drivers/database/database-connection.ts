/**
 * Turns the `database` setting (a URL or a knex config) into a knex instance, and describes a
 * connection for messages without ever showing its password or a statement's values.
 * Idle pooled connections do not keep the process alive (keep-alive.ts).
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConfigError, DatabaseError } from '../../infra/errors.ts';
import { unrefHandle } from '../../infra/keep-alive.ts';
import { redact } from '../redact.ts';
import { assertKnexClient } from '../store-clients.ts';

export type DatabaseSetting = string | Knex.Config;

/** Builds the knex config: `sqlite:path`, `mysql://`, `mariadb://`, `postgres://` URLs, or knex's own object. */
export function knexConfig(setting: DatabaseSetting, root: string): Knex.Config {
  if (typeof setting !== 'string') {
    const client = String(setting.client ?? '');
    if (client === 'sqlite3' || client === 'better-sqlite3' || client === 'sqlite') {
      const connection = setting.connection as { filename?: string } | undefined;
      return sqliteConfig(connection?.filename ?? 'storage/database.sqlite', root);
    }
    return { pool: { min: 0, max: 10 }, acquireConnectionTimeout: 10_000, ...setting };
  }
  if (setting.startsWith('sqlite:')) return sqliteConfig(setting.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''), root);
  let url: URL;
  try {
    url = new URL(setting);
  } catch {
    throw new ConfigError(`database: "${redact(setting)}" is not a URL like mysql://user@host:3306/db, postgres://user@host:5432/db or sqlite:storage/database.sqlite`);
  }
  const common = { pool: { min: 0, max: 10 }, acquireConnectionTimeout: 10_000 };
  switch (url.protocol) {
    case 'mysql:':
    case 'mariadb:':
      return {
        ...common,
        client: 'mysql2',
        connection: {
          host: url.hostname || '127.0.0.1',
          port: Number(url.port || 3306),
          user: decodeURIComponent(url.username || 'root'),
          password: decodeURIComponent(url.password),
          database: url.pathname.replace(/^\//, '') || undefined,
          charset: 'utf8mb4',
        },
      };
    case 'postgres:':
    case 'postgresql:':
      return { ...common, client: 'pg', connection: setting };
    default:
      throw new ConfigError(`database: unknown scheme "${url.protocol}" in ${redact(setting)}: use mysql://, mariadb://, postgres:// or sqlite:`);
  }
}

function sqliteConfig(filename: string, root: string): Knex.Config {
  const file = filename === ':memory:' ? filename : path.resolve(root, filename);
  return {
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        // WAL lets readers and one writer work side by side; busy_timeout makes writers from
        // other worker processes wait their turn instead of failing.
        conn.pragma('journal_mode = WAL');
        conn.pragma('busy_timeout = 10000');
        conn.pragma('synchronous = NORMAL');
        done(null, conn);
      },
    },
  };
}

/** knex's own console output; its errors reach us through the calls that meet them. */
const QUIET = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

/** `queue`: the connections the driver works the job tables with (not those of `rakit migrate`). */
export function createKnex(setting: DatabaseSetting, root: string, { queue = false } = {}): Knex {
  let config = knexConfig(setting, root);
  assertSqliteFolder(config);
  assertKnexClient(config.client);
  if (queue && MYSQL.has(String(config.client))) config = { ...config, connection: severalStatements(config.connection) };
  const session = queue ? QUEUE_SESSION[String(config.client)] : undefined;
  // compileSqlOnError: a failed statement's message shows `?` placeholders, never the values.
  const knex = knexFactory({ log: QUIET, compileSqlOnError: false, ...(session ? withSession(config, session) : config) });
  letIdleConnectionsGo(knex);
  return knex;
}

/** A SQLite file goes where the setting says, and a mistyped folder is an error, never created. */
function assertSqliteFolder(config: Knex.Config): void {
  const file = (config.connection as { filename?: string } | undefined)?.filename;
  if (config.client !== 'better-sqlite3' || !file || file === ':memory:' || existsSync(path.dirname(file))) return;
  throw new ConfigError(`database: the folder of the SQLite file ${file} does not exist: create it, or fix DATABASE_URL / application/config/job.ts`);
}

interface PoolEvents {
  on(event: 'createSuccess', listener: (eventId: number, connection: unknown) => void): void;
  on(event: 'startReaping', listener: () => void): void;
  interval?: NodeJS.Timeout | null;
}

/**
 * Pooled connections' sockets, and the timer by which the pool closes idle ones, do not keep the
 * process alive: work in flight does (keep-alive.ts). The reaping timer is made right after its
 * event, hence the microtask.
 */
function letIdleConnectionsGo(knex: Knex): void {
  const pool = (knex.client as { pool?: PoolEvents }).pool;
  if (!pool) return;
  pool.on('createSuccess', (_id, connection) => {
    const conn = connection as { stream?: Socket; connection?: { stream?: Socket } };
    unrefHandle(conn.stream ?? conn.connection?.stream); // mysql2 ; pg
  });
  pool.on('startReaping', () => queueMicrotask(() => unrefHandle(pool.interval)));
}

const MYSQL = new Set(['mysql', 'mysql2']);

/**
 * A MySQL connection setting (object, URL or function) with `multipleStatements` on: the claim
 * sends its transaction in two round trips (database.ts). Every statement the driver sends
 * binds its values; none is pieced together from input.
 */
function severalStatements(connection: Knex.Config['connection']): Knex.Config['connection'] {
  if (typeof connection === 'function') {
    const make = connection as () => unknown;
    return (async () => severalStatements((await make()) as Knex.Config['connection'])) as Knex.Config['connection'];
  }
  if (typeof connection === 'string') {
    const url = new URL(connection);
    url.searchParams.set('multipleStatements', 'true');
    return url.href;
  }
  return { ...(connection as object), multipleStatements: true } as Knex.Config['connection'];
}

/**
 * What each queue connection sets once, when it opens.
 * - PostgreSQL plans from statistics that autovacuum refreshes about once a minute, and a queue
 *   table changes faster than that: planned from figures taken when the table was nearly empty,
 *   a claim became a full scan and sort of every queued job and an ack a full scan (8 ms and
 *   1 ms at 20,000 jobs, instead of 0.4 and 0.08, and growing with the queue). Every query of
 *   the driver has an index to walk, so its connections turn sequential scans off.
 * - MySQL/MariaDB: the claim's transaction is READ COMMITTED (no gap locks between workers);
 *   set for the session, it costs no statement per claim.
 * The app's own migrations, run by `rakit migrate`, keep the server's defaults.
 */
const QUEUE_SESSION: Record<string, string> = {
  pg: 'SET enable_seqscan = off',
  mysql2: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
  mysql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
};

type AfterCreate = (conn: SqlConnection, done: (err: Error | null, conn: SqlConnection) => void) => void;
interface SqlConnection { query(sql: string, callback: (err: Error | null) => void): void }

/** The config with `sql` run on each new connection, before the app's own `afterCreate`. */
function withSession(config: Knex.Config, sql: string): Knex.Config {
  const theirs = (config.pool as { afterCreate?: AfterCreate } | undefined)?.afterCreate;
  const afterCreate: AfterCreate = (conn, done) => conn.query(sql, (err) => {
    if (err || !theirs) done(err, conn);
    else theirs(conn, done);
  });
  return { ...config, pool: { ...config.pool, afterCreate } };
}

/** `mysql2 root@127.0.0.1:3306/test`, never with a password. */
export function describeConnection(config: Knex.Config): string {
  const client = String(config.client);
  const c = config.connection as Record<string, unknown> | string | undefined;
  if (typeof c === 'string') return `${client} ${redact(c)}`;
  if (!c) return client;
  if (c.filename) return `${client} ${String(c.filename)}`;
  const user = c.user ? `${String(c.user)}@` : '';
  return `${client} ${user}${String(c.host ?? 'localhost')}:${String(c.port ?? '')}/${String(c.database ?? '')}`;
}

/** The driver-specific error code of a SQL error (`ER_LOCK_DEADLOCK`, `40P01`, `SQLITE_BUSY`). */
export function sqlErrorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * A failed statement as a user may see it: the operation (`insert on rakit_jobs`), the error
 * code and the server's own words, never the statement or its values (a payload). Long quoted
 * values in the server's words (`Incorrect string value: '...'`) are cut out too.
 */
export function databaseError(error: unknown): DatabaseError {
  const code = sqlErrorCode(error);
  const message = String((error as Error)?.message ?? error);
  const mysql = (error as { sqlMessage?: unknown }).sqlMessage;
  // knex writes `<statement> - <server message>` (compileSqlOnError: false keeps values out of it).
  const split = message.lastIndexOf(' - ');
  const statement = split < 0 ? '' : message.slice(0, split);
  const said = typeof mysql === 'string' ? mysql : split < 0 ? message : message.slice(split + 3);
  const verb = /^\s*(\w+)/.exec(statement)?.[1]?.toLowerCase();
  const table = /\b(?:into|update|from)\s+[`"]?([\w.]+)/i.exec(statement)?.[1];
  const operation = verb && table ? `${verb} on ${table}` : verb ?? 'a statement';
  const words = said.replace(/\s+/g, ' ').replace(/(['"])[^'"]{40,}\1/g, '$1…$1').slice(0, 300);
  return Object.assign(new DatabaseError(`Database error in ${operation}${code ? ` (${code})` : ''}: ${words}`), { code });
}
