/**
 * The client package each store needs beyond SQLite, which the app installs itself (they are
 * optional peer dependencies, so an app on SQLite installs none of them). Naming a store whose
 * client is missing is a configuration error that names the `npm install` to run; the driver
 * modules that import a client are loaded only once it is there.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../infra/errors.ts';

/** The stores that need a client package, and the package. */
export const STORE_CLIENTS = {
  mysql: 'mysql2',
  postgres: 'pg',
  redis: 'ioredis',
  memcached: 'memcache-client',
} as const;

export type ClientStore = keyof typeof STORE_CLIENTS;

/** The major of each client that package.json's peerDependencies accept (npm refuses others). */
const MAJORS: Record<ClientStore, number> = { mysql: 3, postgres: 8, redis: 5, memcached: 1 };

/** What to type to install the store's client: `npm install ioredis@5`. */
export const installCommand = (store: ClientStore): string => `npm install ${STORE_CLIENTS[store]}@${MAJORS[store]}`;

/** knex's client names of the databases whose client rakit does not ship. */
const KNEX_CLIENTS: Record<string, ClientStore> = { mysql2: 'mysql', pg: 'postgres', postgres: 'postgres', postgresql: 'postgres' };

const resolver = createRequire(import.meta.url);

/** The one line a user reads when the client is missing. */
export function missingClientMessage(store: ClientStore): string {
  return `the ${store} store needs the ${STORE_CLIENTS[store]} package, which is not installed: run ${installCommand(store)}`;
}

/** The client-needing store a driver name and `database` URL choose; null for SQLite and the file store. */
export function storeOf(driver: string | undefined, database: string | undefined): ClientStore | null {
  if (driver === 'redis' || driver === 'memcached') return driver;
  if (driver && driver !== 'database') return null;
  if (/^(mysql|mariadb):/.test(database ?? '')) return 'mysql';
  if (/^postgres(ql)?:/.test(database ?? '')) return 'postgres';
  return null;
}

/** Whether the store's client package is installed. */
export function hasClient(store: ClientStore): boolean {
  try {
    resolver.resolve(STORE_CLIENTS[store]);
    return true;
  } catch {
    return false;
  }
}

/** Throws a ConfigError (exit 2) naming the `npm install` to run when the store's client is not installed. */
export function assertClient(store: ClientStore): void {
  if (!hasClient(store)) throw new ConfigError(missingClientMessage(store));
}

/** The same for a knex client name (`mysql2`, `pg`); SQLite and others pass. */
export function assertKnexClient(client: unknown): void {
  const store = KNEX_CLIENTS[String(client)];
  if (store) assertClient(store);
}
