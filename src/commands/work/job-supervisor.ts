import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { BIN } from '../../manager/ipc.ts';
import { runtime } from '../../api/runtime.ts';
import { ownerOf, renderSupervisorConfig } from '../../manager/supervisor-config.ts';
import { queueName } from '../options.ts';
import { TUNING_FLAGS, addTuningFlags, type WorkerFlags } from './worker-command.ts';

const DEFAULT_TARGET = '/etc/supervisor/conf.d/rakit-worker.conf';

interface Flags extends WorkerFlags {
  workers: { queue: string; processes: number }[];
  user?: string;
  logDir: string;
  name: string;
  write?: string | true;
}

/** `--retries` and the rest: the long names of the flags carried to every program. */
const CARRIED = new Set(TUNING_FLAGS.map(([flags]) => flags.split(' ')[0]!));

export function jobSupervisorCommand(): Command {
  return addTuningFlags(new Command('job:supervisor')
    .description('print (or --write) a supervisor config that runs this app\'s workers: one program per queue')
    .option('--workers <queue=n,...>', 'worker processes per queue, in priority order', workerList, workerList('high=2,default=4,low=1'))
    .option('--user <name>', 'the user the workers run as (default: the owner of this folder)')
    .option('--log-dir <dir>', 'folder of the per-program logs', '/var/log')
    .option('--name <prefix>', 'program name prefix, e.g. rakit → [program:rakit-high]', programPrefix, 'rakit')
    .option('--write [file]', `write the config to a file (default ${DEFAULT_TARGET}) instead of printing it`))
    .action(async (flags: Flags, command: Command) => {
      const rt = await runtime();
      await rt.registry.discover();
      const defaultTimeout = flags.timeout ?? rt.config.timeout;
      const longestTimeout = Math.max(defaultTimeout, ...rt.registry.jobClasses().map((c) => c.timeout ?? defaultTimeout));
      // Each tuning flag given here, written as job:runall reads it.
      const carried = command.options.filter((o) => o.long && CARRIED.has(o.long)).flatMap((o) => {
        const value: unknown = command.getOptionValue(o.attributeName());
        return value === undefined ? [] : [`${o.long}=${Array.isArray(value) ? value.join(',') : String(value)}`];
      });
      const config = renderSupervisorConfig({
        name: flags.name,
        node: process.execPath,
        bin: BIN,
        directory: rt.config.root,
        user: flags.user ?? ownerOf(rt.config.root),
        logDir: path.resolve(flags.logDir),
        workers: flags.workers,
        flags: carried,
        longestTimeout,
      });
      if (flags.write === undefined) {
        process.stdout.write(config);
        return;
      }
      const target = path.resolve(flags.write === true ? DEFAULT_TARGET : flags.write);
      mkdirSync(path.dirname(target), { recursive: true });
      // supervisord refuses a program whose log folder is missing.
      mkdirSync(path.resolve(flags.logDir), { recursive: true });
      writeFileSync(target, config);
      console.log(`Wrote ${target}. Load it with: supervisorctl reread && supervisorctl update`);
    });
}

function workerList(value: string): { queue: string; processes: number }[] {
  const workers = value.split(',').map((part) => {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match || Number(match[2]) < 1) throw new InvalidArgumentError(`"${part}" is not queue=processes: give e.g. --workers=high=2,default=4,low=1`);
    return { queue: queueName(match[1]!), processes: Number(match[2]) };
  });
  if (new Set(workers.map((w) => w.queue)).size !== workers.length) throw new InvalidArgumentError('a queue is listed twice');
  return workers;
}

function programPrefix(value: string): string {
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(value)) throw new InvalidArgumentError('use letters, digits and . _ - (at most 40)');
  return value;
}
