import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Jobable } from 'rakit';

/** Writes the mail to storage/mail/ as an .eml file (a stand-in for an SMTP transport). */
export default class SendEmail extends Jobable<{ to: string; subject: string; view?: string; data?: Record<string, unknown> }> {
  static timeout = 30;
  static tries = 3;

  async run(): Promise<void> {
    const to = this.get('to');
    const subject = this.get('subject');
    const view = this.get('view', 'emails.notification');
    const data = this.get('data', {});
    if (!to || !/^[^@\s]+@[^@\s]+$/.test(to)) throw new Error(`SendEmail: "${to}" is not an email address`);
    const dir = path.join(process.cwd(), 'storage', 'mail');
    await mkdir(dir, { recursive: true });
    const body = [`To: ${to}`, `Subject: ${subject}`, `X-View: ${view}`, '', JSON.stringify(data, null, 2), ''].join('\n');
    await writeFile(path.join(dir, `${this.id || Date.now()}-${to.replace(/[^\w.@-]/g, '_')}.eml`), body);
  }
}
