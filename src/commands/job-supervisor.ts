import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runtime } from '../core/runtime.ts';
import { ownerOf, renderSupervisorConfig } from '../core/supervisor-config.ts';
import { backoffList, queueName, seconds, wholeNumber } from './options.ts';

const BIN = fileURLToPath(new URL('../../bin/rakit.js', import.meta.url));
const DEFAULT_TARGET = '/etc/supervisor/conf.d/rakit-worker.conf';

interface Flags {
  workers: { queue: string; processes: number }[];
  user?: string;
  logDir: string;
  name: string;
  write?: string | true;
  retries?: number;
  sleep?: number;
  timeout?: number;
  backoff?: number | number[];
  concurrency?: number;
  processes?: number;
  memory?: number;
  maxJobs?: number;
  maxTime?: number;
}

export function jobSupervisorCommand(): Command {
  return new Command('job:supervisor')
    .description('print (or --write) a supervisor config that runs this app\'s workers: one program per queue')
    .option('--workers <queue=n,...>', 'worker processes per queue, in priority order', workerList, workerList('high=2,default=4,low=1'))
    .option('--user <name>', 'the user the workers run as (default: the owner of this folder)')
    .option('--log-dir <dir>', 'folder of the per-program logs', '/var/log')
    .option('--name <prefix>', 'program name prefix, e.g. rakit → [program:rakit-high]', programPrefix, 'rakit')
    .option('--write [file]', `write the config to a file (default ${DEFAULT_TARGET}) instead of printing it`)
    .option('--retries <n>', 'carried to job:runall', wholeNumber(1))
    .option('--sleep <ms>', 'carried to job:runall', wholeNumber(0))
    .option('--timeout <s>', 'carried to job:runall', seconds)
    .option('--backoff <s[,s...]>', 'carried to job:runall', backoffList)
    .option('--concurrency <n>', 'carried to job:runall', wholeNumber(1))
    .option('--processes <n>', 'carried to job:runall', wholeNumber(1))
    .option('--memory <mb>', 'carried to job:runall', wholeNumber(0))
    .option('--max-jobs <n>', 'carried to job:runall', wholeNumber(0))
    .option('--max-time <s>', 'carried to job:runall', wholeNumber(0))
    .action(async (flags: Flags) => {
      const rt = await runtime();
      await rt.registry.discover();
      const defaultTimeout = flags.timeout ?? rt.config.timeout;
      const longestTimeout = Math.max(defaultTimeout, ...rt.registry.jobClasses().map((c) => c.timeout ?? defaultTimeout));
      const carried: [string, unknown][] = [
        ['retries', flags.retries], ['sleep', flags.sleep], ['timeout', flags.timeout], ['backoff', flags.backoff],
        ['concurrency', flags.concurrency], ['processes', flags.processes], ['memory', flags.memory],
        ['max-jobs', flags.maxJobs], ['max-time', flags.maxTime],
      ];
      const config = renderSupervisorConfig({
        name: flags.name,
        node: process.execPath,
        bin: BIN,
        directory: rt.config.root,
        user: flags.user ?? ownerOf(rt.config.root),
        logDir: path.resolve(flags.logDir),
        workers: flags.workers,
        flags: carried.filter(([, v]) => v !== undefined).map(([k, v]) => `--${k}=${Array.isArray(v) ? v.join(',') : String(v)}`),
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
