/**
 * Configuration: loads `application/config/job.ts` of the app in the working directory, applies
 * the environment overrides (JOB_DRIVER, DATABASE_URL, REDIS_URL, MEMCACHED_SERVERS) and checks
 * every key, type and value before anything runs. A mistake is a ConfigError naming file and key.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { appFileCandidates, importConfig } from './app-files.ts';
import type { Backoff } from './backoff.ts';
import { ConfigError, coerceError } from './errors.ts';
import { nearestNames } from './naming.ts';
import { assertTimezone } from './timezone.ts';

/**
 * The `redis` setting: a URL, or an object of ioredis options (`cluster` for Redis Cluster,
 * `sentinels` and `name` for Sentinel). Typed without ioredis's own types: an app that does not
 * install ioredis type-checks against rakit's declarations all the same.
 */
export type RedisSetting = string | RedisOptionsInput;

/** The ioredis options rakit reads itself; any other is passed on to ioredis. */
export interface RedisOptionsInput {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  /** Redis Cluster: its nodes. */
  cluster?: Array<{ host: string; port: number }>;
  /** Sentinel: the sentinels, and `name` the master's. */
  sentinels?: Array<{ host: string; port: number }>;
  name?: string;
  [option: string]: unknown;
}

/** `sync` keeps nothing: each job runs inside the process that dispatches it (docs/testing-your-jobs.md). */
export const DRIVERS = ['database', 'redis', 'file', 'memcached', 'sync'] as const;
export type DriverName = (typeof DRIVERS)[number];

/** What `application/config/job.ts` exports (every key optional). */
export interface JobConfigInput {
  /** Which store holds the jobs. */
  driver?: DriverName;
  /** Jobs table (database driver). */
  table?: string;
  /** Failed-jobs table (database driver). */
  failed_table?: string;
  /**
   * Dispatches written in an app's transaction (`withTransaction(trx)`) while the job store is not
   * that database go to an outbox table in `database` (the app's), moved to the job store by the
   * relay `job:runall` runs (src/outbox/).
   */
  outbox?: boolean;
  /** The outbox table, in `database`. */
  outbox_table?: string;
  /** Jobs a worker process runs before it is replaced; caps one-shot runs. 0 = no limit. */
  max_job?: number;
  /** Total attempts of a job whose class does not declare `tries`. */
  max_retries?: number;
  /** How long an idle worker waits before looking again (ms); also the default backoff. */
  sleep_ms?: number;
  /** Log rakit's job events (added, executed, retry, failed). */
  logging?: boolean;
  /** Seconds a job may run when its class does not declare `timeout`. */
  timeout?: number;
  /** Seconds before a retry (a number, or a list for retry 1, 2, ...); default sleep_ms. */
  backoff?: Backoff | null;
  /** Timezone of 'YYYY-MM-DD HH:mm' dispatch times. */
  timezone?: string;
  /** Largest payload accepted at dispatch, in bytes of JSON. */
  max_payload_bytes?: number;
  /** Deepest nesting of objects and arrays accepted at dispatch (the payload itself is level 1); at most MAX_PAYLOAD_DEPTH. */
  max_payload_depth?: number;
  /** Hours a job's result (what run() returned) is kept, for `job:show` and `Job.result()`; 0 keeps none. */
  result_retention_hours?: number;
  /** Largest result kept, in bytes of JSON; a larger one is noted as too large, not kept. */
  max_result_bytes?: number;
  /** A URL (sqlite:path, mysql://, postgres://) or a knex config object. */
  database?: string | Knex.Config;
  /** A Redis URL (redis://host:port/db, redis+cluster://host:port,host:port) or ioredis options. */
  redis?: RedisSetting;
  /** Prefix of every key the redis and memcached drivers write. */
  prefix?: string;
  /** Comma list of memcached host:port. */
  memcached?: string;
  /** Folder of the file driver. */
  file_path?: string;
  /** Keep per-minute metrics (throughput, failures, wait and runtime) in the store, for the dashboard and /metrics. */
  metrics?: boolean;
  /** Hours of per-minute metrics kept. */
  metrics_retention_hours?: number;
  /** Password of the dashboard (env RAKIT_DASHBOARD_PASSWORD); required to serve it off 127.0.0.1 unless a token is set. */
  dashboard_password?: string;
  /** Bearer token for the dashboard's API and /metrics (env RAKIT_DASHBOARD_TOKEN). */
  dashboard_token?: string;
  /** Payload fields the dashboard shows masked (`***`), at any depth. */
  dashboard_mask?: string[];
}

export interface JobConfig extends Required<Omit<JobConfigInput, 'backoff'>> {
  backoff: Backoff | null;
  /** The app's root folder (the working directory). */
  root: string;
  /** The file the configuration came from, for messages. */
  source: string;
}

/**
 * The deepest max_payload_depth there can be: JSON.stringify and JSON.parse recurse, and a few
 * thousand levels exhaust the call stack; no payload of plain data needs more.
 */
export const MAX_PAYLOAD_DEPTH = 1000;

export const DEFAULTS: Omit<JobConfig, 'root' | 'source'> = {
  driver: 'database',
  table: 'rakit_jobs',
  outbox: false,
  outbox_table: 'rakit_outbox',
  failed_table: 'rakit_failed_jobs',
  max_job: 100,
  max_retries: 3,
  sleep_ms: 1000,
  logging: true,
  timeout: 60,
  backoff: null,
  timezone: 'UTC',
  max_payload_bytes: 65_536,
  max_payload_depth: 64,
  result_retention_hours: 24,
  max_result_bytes: 65_536,
  database: 'sqlite:storage/database.sqlite',
  redis: 'redis://127.0.0.1:6379/0',
  prefix: 'rakit',
  memcached: '127.0.0.1:11211',
  file_path: 'storage/jobs',
  metrics: true,
  metrics_retention_hours: 24,
  dashboard_password: '',
  dashboard_token: '',
  dashboard_mask: [],
};

/** Identity function that types a configuration object. */
export function defineConfig(config: JobConfigInput): JobConfigInput {
  return config;
}

/** The configuration file as a message names it: its path in the app (`application/config/job.js`), or where the settings came from. */
export function configFileName(config: Pick<JobConfig, 'root' | 'source'>): string {
  return path.isAbsolute(config.source) ? path.relative(config.root, config.source) : config.source.replace(/^<(.*)>$/, '$1');
}

export const CONFIG_CANDIDATES = appFileCandidates('application/config/job');

export async function loadConfig(root = process.cwd(), env: NodeJS.ProcessEnv = process.env): Promise<JobConfig> {
  const file = CONFIG_CANDIDATES.map((c) => path.join(root, c)).find((f) => existsSync(f));
  if (!file) {
    throw new ConfigError(
      `No configuration: ${path.join(root, CONFIG_CANDIDATES[0]!)} is missing (and no .mts, .cts, .js, .mjs, .cjs) — run rakit in your app's folder, ` +
        `or create it with "npx rakit init" (see docs/configuration.md in the rakit package)`,
    );
  }
  let loaded: unknown;
  try {
    loaded = (await importConfig(file, root)).default;
  } catch (error) {
    throw new ConfigError(`${file} failed to load: ${coerceError(error).message}`, { cause: error });
  }
  return resolveConfig(loaded, { root, source: file, env });
}

export function resolveConfig(
  input: unknown,
  { root = process.cwd(), source = '<inline config>', env = {} as NodeJS.ProcessEnv } = {},
): JobConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(`${source}: the default export must be an object of settings`);
  }
  const given = { ...(input as Record<string, unknown>) };
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULTS, key)) {
      const hint = nearestNames(key, Object.keys(DEFAULTS));
      throw new ConfigError(`${source}: unknown key "${key}"${hint.length ? ` (did you mean "${hint[0]}"?)` : ''}`);
    }
  }
  if (env.JOB_DRIVER) given.driver = env.JOB_DRIVER;
  if (env.DATABASE_URL) given.database = env.DATABASE_URL;
  if (env.REDIS_URL) given.redis = env.REDIS_URL;
  if (env.MEMCACHED_SERVERS) given.memcached = env.MEMCACHED_SERVERS;
  if (env.RAKIT_DASHBOARD_PASSWORD) given.dashboard_password = env.RAKIT_DASHBOARD_PASSWORD;
  if (env.RAKIT_DASHBOARD_TOKEN) given.dashboard_token = env.RAKIT_DASHBOARD_TOKEN;
  const config = { ...DEFAULTS, ...stripUndefined(given), root, source } as JobConfig;
  const bad = (key: string, want: string): never => {
    throw new ConfigError(`${source}: "${key}" must be ${want}, got ${JSON.stringify(config[key as keyof JobConfig])}`);
  };
  if (!DRIVERS.includes(config.driver)) bad('driver', `one of ${DRIVERS.join(', ')}`);
  for (const key of ['table', 'failed_table', 'outbox_table'] as const) {
    if (typeof config[key] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(config[key])) bad(key, 'a table name (letters, digits, _)');
  }
  if (config.table === config.failed_table) bad('failed_table', 'different from "table"');
  if (typeof config.outbox !== 'boolean') bad('outbox', 'true or false');
  for (const key of ['max_job', 'max_retries', 'sleep_ms', 'max_payload_bytes'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 0) bad(key, 'a whole number ≥ 0');
  }
  if (!Number.isInteger(config.max_payload_depth) || config.max_payload_depth < 1 || config.max_payload_depth > MAX_PAYLOAD_DEPTH) {
    bad('max_payload_depth', `a whole number from 1 to ${MAX_PAYLOAD_DEPTH}`);
  }
  if (config.max_retries < 1) bad('max_retries', 'at least 1 (it counts every attempt)');
  if (typeof config.timeout !== 'number' || !(config.timeout > 0)) bad('timeout', 'a number of seconds > 0');
  for (const key of ['logging', 'metrics'] as const) if (typeof config[key] !== 'boolean') bad(key, 'true or false');
  if (typeof config.result_retention_hours !== 'number' || !(config.result_retention_hours >= 0)) bad('result_retention_hours', 'a number of hours ≥ 0 (0 keeps no results)');
  if (!Number.isInteger(config.max_result_bytes) || config.max_result_bytes < 2 || config.max_result_bytes > 512 * 1024) bad('max_result_bytes', 'a whole number of bytes from 2 to 524288');
  if (typeof config.metrics_retention_hours !== 'number' || !(config.metrics_retention_hours > 0)) bad('metrics_retention_hours', 'a number of hours > 0');
  for (const key of ['dashboard_password', 'dashboard_token'] as const) if (typeof config[key] !== 'string') bad(key, 'a string');
  if (!Array.isArray(config.dashboard_mask) || !config.dashboard_mask.every((f) => typeof f === 'string' && f !== '')) bad('dashboard_mask', 'a list of payload field names');
  if (config.backoff !== null && !isBackoff(config.backoff)) bad('backoff', 'seconds ≥ 0, or a list of them');
  if (typeof config.timezone !== 'string') bad('timezone', 'an IANA timezone name');
  try {
    assertTimezone(config.timezone);
  } catch (error) {
    throw new ConfigError(`${source}: "timezone": ${(error as Error).message}`);
  }
  if (typeof config.database !== 'string' && (typeof config.database !== 'object' || config.database === null)) {
    bad('database', 'a URL string or a knex config object');
  }
  if (typeof config.redis !== 'string' && (typeof config.redis !== 'object' || config.redis === null)) {
    bad('redis', 'a URL string or an object of ioredis options');
  }
  if (typeof config.prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(config.prefix)) bad('prefix', 'letters, digits, . _ - (at most 32)');
  for (const key of ['memcached', 'file_path'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') bad(key, 'a non-empty string');
  }
  return Object.freeze(config);
}

export function isBackoff(value: unknown): value is Backoff {
  const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return ok(value) || (Array.isArray(value) && value.length > 0 && value.every(ok));
}

function stripUndefined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
