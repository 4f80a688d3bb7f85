import { appendFile, mkdir } from 'node:fs/promises';
import { Event } from 'rakit';

// Listeners for jobs dispatched by name, without a class; every worker loads this file.
// `npx rakit job:dispatch ping` queues one; a worker runs the listener below.
Event.listen('rakit.jobs.run: ping', async (payload: Record<string, unknown>) => {
  await mkdir('storage', { recursive: true });
  await appendFile('storage/ping.log', `${new Date().toISOString()} ping ${JSON.stringify(payload)}\n`);
});
