import { Command, Option } from 'commander';
import { Job } from '../../api/job-facade.ts';
import { runtime } from '../../api/runtime.ts';
import { atTime, delaySeconds, jsonObject, queueName } from '../options.ts';

interface DispatchFlags {
  payload: Record<string, unknown>;
  queue: string;
  at?: string | number;
  delay?: number;
  withoutOverlapping?: boolean;
  json?: boolean;
}

export function jobDispatchCommand(): Command {
  return new Command('job:dispatch')
    .description('queue a job from a shell or cron')
    .argument('<name>', 'job name, e.g. send-email')
    .option('--payload <json>', 'the payload, a JSON object', jsonObject, {})
    .option('--queue <queue>', 'queue name', queueName, 'default')
    .option('--at <when>', "when to run: ISO-8601, 'YYYY-MM-DD HH:mm[:ss]' (config timezone) or @<Unix seconds>", atTime)
    .addOption(new Option('--delay <s>', 'seconds to wait before running').argParser(delaySeconds).conflicts('at'))
    .option('--without-overlapping', 'skip if a job with the same overlap key is pending or running')
    .option('--json', 'print the result as one JSON document')
    .action(async (name: string, flags: DispatchFlags) => {
      // The result printed below says what the log line would: one line for a person, one document for jq.
      if (!process.env.RAKIT_LOG_LEVEL) (await runtime()).logger.level = 'warn';
      const pending = Job.dispatch(name, flags.payload, flags.at).onQueue(flags.queue);
      if (flags.withoutOverlapping) pending.withoutOverlapping();
      if (flags.delay !== undefined) pending.delay(flags.delay);
      const result = await pending;
      if (flags.json) console.log(JSON.stringify(result));
      else if (result.skipped) console.log(`Skipped: ${name} is already pending or running (job ${result.existingId ?? '?'})`);
      else console.log(`Queued ${name} as job ${result.id} on "${result.queue}", due ${result.scheduledAt.toISOString()}`);
    });
}
