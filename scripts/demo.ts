/**
 * The manual's scenario on this app: seeds 250 students, then dispatches the example jobs to
 * the high, default and low queues (one scheduled for tonight, two overlapping reports, a
 * legacy listener job). Work them off with: npx rakit job:runall --queue=high,default,low --stop-when-empty
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import knexFactory from 'knex';
import { Job } from 'rakit';
import CleanupFiles from '../application/jobs/CleanupFiles.ts';
import GenerateMonthlyInvoices from '../application/jobs/GenerateMonthlyInvoices.ts';
import GenerateReport from '../application/jobs/GenerateReport.ts';
import ProcessUpload from '../application/jobs/ProcessUpload.ts';
import SendEmail from '../application/jobs/SendEmail.ts';
import { appDatabase, ensureAppSchema } from '../application/lib/app-database.ts';
import '../application/events.ts';

const db = knexFactory(appDatabase());
await ensureAppSchema(db);
const [{ n }] = (await db('students').count({ n: '*' })) as [{ n: number }];
if (Number(n) === 0) {
  await db.batchInsert('students', Array.from({ length: 250 }, (_, i) => ({ name: `Siswa ${i + 1}`, status: i % 10 === 9 ? 'lulus' : 'aktif' })), 100);
}
await db.destroy();

const upload = path.join(process.cwd(), 'storage', 'uploads', 'photo.jpg');
await mkdir(path.dirname(upload), { recursive: true });
await writeFile(upload, 'not really a jpeg');

const tonight = `${new Date().toISOString().slice(0, 10)} 23:00:00`;
const show = (label: string, result: unknown) => console.log(`${label.padEnd(34)} ${JSON.stringify(result)}`);

show('SendEmail on high', await SendEmail.dispatch({ to: 'user@example.com', subject: 'Selamat Datang!', view: 'emails.welcome', data: { name: 'John' } }).onQueue('high'));
show('ProcessUpload on default', await ProcessUpload.dispatch({ file: upload, user_id: 7 }));
show('GenerateReport (withoutOverlapping)', await GenerateReport.dispatch({ type: 'monthly', month: '2026-11' }).withoutOverlapping());
show('GenerateReport again (skipped)', await GenerateReport.dispatch({ type: 'monthly', month: '2026-11' }).withoutOverlapping());
show('GenerateMonthlyInvoices on low', await GenerateMonthlyInvoices.dispatch({ fiscal_period_id: 202611 }).onQueue('low').withoutOverlapping());
show('CleanupFiles tonight 23:00 on low', await CleanupFiles.dispatch({ path: 'storage/uploads', days: 7 }, tonight).onQueue('low').withoutOverlapping());
show("Job.dispatch('send-email') facade", await Job.dispatch('send-email', { to: 'admin@example.com', subject: 'Hello' }));
show("Job.add('send-notification')", await Job.add('send-notification', { to: 'user@example.com', subject: 'Hello' }));
await Job.close();
