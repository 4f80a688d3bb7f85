/**
 * The `rakit` commands: one module per command, attached to one commander program, and
 * commander's own exits (help, version, bad usage) as exit codes. A worker process never loads
 * it (or commander).
 */
import { Command, CommanderError } from 'commander';

/** Each command's module, loaded only when it runs (or for help): a cron run pays every import. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'job:table': async () => (await import('./setup/job-table.ts')).jobTableCommand(),
  migrate: async () => (await import('./setup/migrate.ts')).migrateCommand(),
  'job:runall': async () => (await import('./work/job-runall.ts')).jobRunallCommand(),
  'job:run': async () => (await import('./work/job-run.ts')).jobRunCommand(),
  'job:relay': async () => (await import('./work/job-relay.ts')).jobRelayCommand(),
  'job:dispatch': async () => (await import('./work/job-dispatch.ts')).jobDispatchCommand(),
  'job:failed': async () => (await import('./admin/job-failed.ts')).jobFailedCommand(),
  'job:show': async () => (await import('./admin/job-show.ts')).jobShowCommand(),
  'job:cancel': async () => (await import('./admin/job-cancel.ts')).jobCancelCommand(),
  'job:retry': async () => (await import('./admin/job-retry.ts')).jobRetryCommand(),
  'job:forget': async () => (await import('./admin/job-forget.ts')).jobForgetCommand(),
  'job:flush': async () => (await import('./admin/job-flush.ts')).jobFlushCommand(),
  'job:status': async () => (await import('./admin/job-status.ts')).jobStatusCommand(),
  'job:clear': async () => (await import('./admin/job-clear.ts')).jobClearCommand(),
  'job:restart': async () => (await import('./admin/job-restart.ts')).jobRestartCommand(),
  'job:batches': async () => (await import('./admin/job-batches.ts')).jobBatchesCommand(),
  'job:pause': async () => (await import('./admin/job-pause.ts')).jobPauseCommand(),
  'job:resume': async () => (await import('./admin/job-resume.ts')).jobResumeCommand(),
  'job:dashboard': async () => (await import('./admin/job-dashboard.ts')).jobDashboardCommand(),
  'job:supervisor': async () => (await import('./work/job-supervisor.ts')).jobSupervisorCommand(),
  'make:job': async () => (await import('./setup/make-job.ts')).makeJobCommand(),
  init: async () => (await import('./setup/init.ts')).initCommand(),
  'schedule:table': async () => (await import('./setup/schedule-table.ts')).scheduleTableCommand(),
  'schedule:run': async () => (await import('./schedule/schedule-run.ts')).scheduleRunCommand(),
  'schedule:work': async () => (await import('./schedule/schedule-work.ts')).scheduleWorkCommand(),
  'schedule:list': async () => (await import('./schedule/schedule-list.ts')).scheduleListCommand(),
  'schedule:test': async () => (await import('./schedule/schedule-test.ts')).scheduleTestCommand(),
  'schedule:clear-locks': async () => (await import('./schedule/schedule-clear-locks.ts')).scheduleClearLocksCommand(),
};

/** The program with every command, with only `only` when that names one, or with none for `--version`. */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('rakit')
    .description('rakit jobs: queue and run background jobs of the app in this folder')
    .version('0.1.0');
  const names = only && only in COMMANDS ? [only] : only === '--version' || only === '-V' ? [] : Object.keys(COMMANDS);
  for (const command of await Promise.all(names.map((name) => COMMANDS[name]!()))) program.addCommand(command);
  // Every command, subcommands too (job:batches cancel): bad usage exits 2, with a pointer to its help.
  const walk = (command: Command, path: string): void => {
    command.exitOverride().showSuggestionAfterError(true).showHelpAfterError(`(run "rakit ${path}--help" for usage)`);
    for (const sub of command.commands) walk(sub, `${path}${sub.name()} `);
  };
  walk(program, '');
  return program;
}

/** Parses `argv` and runs its command; the exit code of help, version or bad usage. */
export async function runProgram(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv[0])).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (thrown) {
    if (!(thrown instanceof CommanderError)) throw thrown;
    return thrown.code === 'commander.helpDisplayed' || thrown.code === 'commander.version' || thrown.code === 'commander.help' ? 0 : 2;
  }
}
