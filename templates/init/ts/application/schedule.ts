import { Schedule } from 'rakit';

// The app's scheduled tasks. One crontab line runs those due each minute:
//   * * * * * cd /path/to/app && npx rakit schedule:run
// `npx rakit schedule:list` shows them with their next run. For example, every Sunday at 00:00,
// delete the failed jobs older than a week:
// Schedule.command('job:flush --hours=168').weekly();
