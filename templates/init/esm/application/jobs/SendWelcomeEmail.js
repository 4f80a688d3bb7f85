import { appendFile, mkdir } from 'node:fs/promises';
import { Jobable } from 'rakit';

/**
 * An example job, named "send-welcome-email" (the kebab-case of the class name). Dispatch it:
 *   await SendWelcomeEmail.dispatch({ to: 'ada@example.com' });
 *   npx rakit job:dispatch send-welcome-email --payload '{"to":"ada@example.com"}'
 * It appends a line to storage/mail.log, a stand-in for sending the mail.
 */
export default class SendWelcomeEmail extends Jobable {
  /** Seconds one attempt may run before it is stopped. */
  static timeout = 30;
  /** Total attempts, the first included. */
  static tries = 3;

  async run() {
    const to = this.get('to');
    if (!to) throw new Error('SendWelcomeEmail: no "to" in the payload');
    await mkdir('storage', { recursive: true });
    await appendFile('storage/mail.log', `${new Date().toISOString()} welcome mail to ${to}\n`);
  }
}
