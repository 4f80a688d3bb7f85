import { defineConfig } from 'rakit';

// rakit jobs configuration (see node_modules/rakit/docs/configuration.md).
// Environment overrides: JOB_DRIVER, DATABASE_URL, REDIS_URL, MEMCACHED_SERVERS.
export default defineConfig({
  driver: 'database', // database (SQLite by default), redis, file, memcached
  table: 'rakit_jobs',
  failed_table: 'rakit_failed_jobs',
  max_job: 100, // jobs a worker process runs before a fresh one takes over (0: never)
  max_retries: 3, // total attempts of a job whose class does not set `tries`
  sleep_ms: 1000, // idle wait of a worker; also the default backoff between attempts
  logging: true,
  timeout: 60, // seconds, for jobs whose class does not set `timeout`
  timezone: 'UTC', // for 'YYYY-MM-DD HH:mm' dispatch times
  database: 'sqlite:storage/database.sqlite', // or mysql://user@host:3306/db, postgres://user@host:5432/db
  redis: 'redis://127.0.0.1:6379', // for driver: 'redis'
});
