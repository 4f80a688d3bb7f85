import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/infra/config.ts';
import { ConfigError } from '../src/infra/errors.ts';
import { describeConnection, knexConfig } from '../src/drivers/database/database-connection.ts';
import { redact } from '../src/drivers/redact.ts';

describe('configuration', () => {
  it("fills the seed's defaults", () => {
    const config = resolveConfig({}, { root: '/app' });
    expect(config).toMatchObject({
      driver: 'database', table: 'rakit_jobs', failed_table: 'rakit_failed_jobs', max_job: 100, max_retries: 3,
      sleep_ms: 1000, logging: true, timeout: 60, timezone: 'UTC', database: 'sqlite:storage/database.sqlite',
    });
  });

  it('lets the environment override driver and connections', () => {
    const config = resolveConfig({ driver: 'database' }, {
      env: { JOB_DRIVER: 'redis', DATABASE_URL: 'postgres://u@h:5432/d', REDIS_URL: 'redis://h:6379/3', MEMCACHED_SERVERS: 'a:1,b:2' },
    });
    expect(config).toMatchObject({ driver: 'redis', database: 'postgres://u@h:5432/d', redis: 'redis://h:6379/3', memcached: 'a:1,b:2' });
  });

  it.each([
    [{ tabel: 'x' }, /unknown key "tabel" \(did you mean "table"\?\)/],
    [{ table: 'drop table;' }, /"table" must be a table name/],
    [{ table: 'same', failed_table: 'same' }, /"failed_table" must be different from "table"/],
    [{ sleep_ms: -1 }, /"sleep_ms" must be a whole number ≥ 0, got -1/],
    [{ max_retries: 0 }, /"max_retries" must be at least 1/],
    [{ timeout: 0 }, /"timeout" must be a number of seconds > 0/],
    [{ logging: 'yes' }, /"logging" must be true or false/],
    [{ backoff: [10, -1] }, /"backoff" must be seconds ≥ 0, or a list of them/],
    [{ timezone: 'Nowhere/City' }, /Unknown timezone "Nowhere\/City"/],
    [{ driver: 'sqs' }, /"driver" must be one of database, redis, file, memcached/],
  ])('refuses %j naming the file and key', (input, message) => {
    expect(() => resolveConfig(input, { source: 'application/config/job.ts' })).toThrow(ConfigError);
    expect(() => resolveConfig(input, { source: 'application/config/job.ts' })).toThrow(new RegExp(`^application/config/job\\.ts: .*${message.source}`));
  });

  it('picks the database client from the URL scheme', () => {
    expect(knexConfig('mysql://root:pw@10.0.0.5:3307/app', '/app')).toMatchObject({
      client: 'mysql2', connection: { host: '10.0.0.5', port: 3307, user: 'root', password: 'pw', database: 'app' },
    });
    expect(knexConfig('postgres://u@h:5432/d', '/app')).toMatchObject({ client: 'pg', connection: 'postgres://u@h:5432/d' });
    expect(knexConfig('sqlite:storage/x.sqlite', '/tmp/app')).toMatchObject({ client: 'better-sqlite3', connection: { filename: '/tmp/app/storage/x.sqlite' } });
    expect(knexConfig('sqlite:/tmp/abs.sqlite', '/app')).toMatchObject({ connection: { filename: '/tmp/abs.sqlite' } });
    expect(() => knexConfig('mongodb://h/d', '/app')).toThrow(/unknown scheme "mongodb:"/);
  });

  it('never shows a password when describing a connection', () => {
    expect(redact('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(describeConnection(knexConfig('mysql://root:hunter2@db:3306/x', '/'))).toBe('mysql2 root@db:3306/x');
    expect(describeConnection(knexConfig('postgres://app:hunter2@db:5432/x', '/'))).toBe('pg postgres://app:***@db:5432/x');
  });
});
