import { defineConfig } from 'rakit';

// rakit jobs configuration. Environment overrides: JOB_DRIVER, DATABASE_URL, REDIS_URL, MEMCACHED_SERVERS.
export default defineConfig({
  driver: 'database', // database (SQLite by default), redis, file, memcached
  table: 'rakit_jobs',
  failed_table: 'rakit_failed_jobs',
  max_job: 100, // jobs `rakit job:run` processes at most in one run
  max_retries: 3, // total attempts of a job whose class does not set `tries`
  sleep_ms: 1000, // idle wait of a worker; also the default backoff between attempts
  logging: true,
  timeout: 60, // seconds, for jobs whose class does not set `timeout`
  timezone: 'UTC', // for 'YYYY-MM-DD HH:mm' dispatch times
  database: 'sqlite:storage/database.sqlite', // or mysql://root@127.0.0.1:3306/test, postgres://postgres@127.0.0.1:5432/test
});
