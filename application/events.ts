import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Event } from 'rakit';

// Legacy listeners, loaded by every worker: a job named "send-notification" runs this.
Event.listen('rakit.jobs.run: send-notification', async (payload: { to: string; subject: string }) => {
  const dir = path.join(process.cwd(), 'storage', 'mail');
  await mkdir(dir, { recursive: true });
  await appendFile(path.join(dir, 'notifications.log'), `${new Date().toISOString()} ${payload.to}: ${payload.subject}\n`);
});
