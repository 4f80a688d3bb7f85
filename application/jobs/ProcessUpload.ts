import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Jobable } from 'rakit';

/** "Processes" an uploaded file: writes its size and SHA-256 beside it as <file>.json. */
export default class ProcessUpload extends Jobable<{ file: string; user_id: number }> {
  static timeout = 120;
  static tries = 3;

  async run(): Promise<void> {
    const file = this.get('file');
    const content = await readFile(file);
    const digest = createHash('sha256').update(content).digest('hex');
    await writeFile(`${file}.json`, JSON.stringify({ user_id: this.get('user_id'), bytes: content.length, sha256: digest }));
  }
}
