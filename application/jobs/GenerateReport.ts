import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Jobable } from 'rakit';

/** Writes a report file to storage/reports/<type>-<date>.txt. Unique per type and date. */
export default class GenerateReport extends Jobable<{ type?: string; date?: string; month?: string }> {
  static timeout = 300;
  static tries = 2;

  uniqueId(): string {
    return `${this.get('type', 'daily')}:${this.get('month') ?? this.get('date', today())}`;
  }

  async run(): Promise<void> {
    const type = this.get('type', 'daily');
    const date = this.get('month') ?? this.get('date', today());
    const dir = path.join(process.cwd(), 'storage', 'reports');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${type}-${date}.txt`), `${type} report for ${date}\ngenerated at ${new Date().toISOString()}\n`);
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}
