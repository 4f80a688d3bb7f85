import { Schedule } from 'rakit';
import GenerateMonthlyInvoices from './jobs/GenerateMonthlyInvoices.ts';

// The app's recurring work, run by one crontab line (see docs/scheduler.md):
//   * * * * * cd /path/to/app && node_modules/.bin/rakit schedule:run && node_modules/.bin/rakit job:runall --stop-when-empty --max-time=50
// Heavy work is dispatched as jobs, so the scheduler only queues it and the queue runs it with
// its timeout and tries. `rakit schedule:list` shows what runs when.

/** The period being invoiced, as yyyymm: this file is read at every scheduler run. */
const thisMonth = () => Number(new Date().toISOString().slice(0, 7).replace('-', ''));

// On the 1st at 02:00, once across every server sharing the queue.
Schedule.job(GenerateMonthlyInvoices, { fiscal_period_id: thisMonth() }).monthlyOn(1, '02:00').onQueue('low').onOneServer();

// Nightly at 23:00; skipped while the last night's cleanup is still queued or running.
Schedule.job('cleanup-files', { path: 'storage/temp', days: 7 }).dailyAt('23:00').onQueue('low').withoutOverlapping();

// Weekly, Sunday 00:00: forget failed jobs older than a week.
Schedule.command('job:flush --hours=168').weekly().onOneServer().withoutOverlapping();
