import { Command } from 'commander';
import { wholeNumber } from '../options.ts';

export function jobDashboardCommand(): Command {
  return new Command('job:dashboard')
    .description('serve the web dashboard: queues, jobs, failed jobs, workers, locks and the schedule (127.0.0.1 only unless a password or token is set)')
    .option('--port <port>', 'port to listen on', wholeNumber(1), 8787)
    .option('--host <address>', 'address to listen on; any but loopback needs dashboard_password or dashboard_token', '127.0.0.1')
    .option('--read-only', 'hide every action and refuse them (403)')
    .action(async (flags: { port: number; host: string; readOnly?: boolean }) => {
      const { serveDashboard } = await import('../../dashboard/server.ts');
      await serveDashboard({ host: flags.host, port: flags.port, readOnly: flags.readOnly ?? false }, (line) => console.log(line));
    });
}
