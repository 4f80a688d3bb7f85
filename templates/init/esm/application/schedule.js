import { Schedule } from 'rakit';

// The app's scheduled tasks. One crontab line runs those due each minute, then the queued jobs
// (docs/cron-logs.md: the log it writes and how to rotate it):
//   * * * * * cd /path/to/app && (node_modules/.bin/rakit schedule:run; node_modules/.bin/rakit job:runall --stop-when-empty --max-time=50) >> storage/rakit-cron.log 2>&1
// `npx rakit schedule:list` shows them with their next run. For example, every Sunday at 00:00,
// delete the failed jobs older than a week:
// Schedule.command('job:flush --hours=168').weekly();
