/**
 * The jobs of the cancel tests (test/cli/cancel*.test.ts), written into a test app: a watcher
 * that stops when its signal aborts (after up to `cleanup` ms, less once storage/release
 * exists) and one that ignores its signal. Each logs to storage/ran.log: `start ID MS`,
 * `abort ID MS REASON`, `end ID MS`, `failed ID`.
 */
export const CANCEL_JOBS: Record<string, string> = {
  // Watches its signal, then takes up to \`cleanup\` ms to stop (less once storage/release exists).
  'Watcher.ts': `import { appendFileSync, existsSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Watcher extends Jobable<{ cleanup?: number; key?: string }> {
  static timeout = 60; static tries = 3; static backoff = 0;
  uniqueId() { return String(this.get('key') ?? 'none'); }
  async run() {
    appendFileSync('storage/ran.log', \`start \${this.id} \${Date.now()}\\n\`);
    await new Promise<void>((resolve) => this.signal.addEventListener('abort', () => {
      appendFileSync('storage/ran.log', \`abort \${this.id} \${Date.now()} \${(this.signal.reason as Error).name}\\n\`);
      const until = Date.now() + (this.get('cleanup') ?? 0);
      const look = () => (Date.now() >= until || existsSync('storage/release') ? resolve() : setTimeout(look, 10));
      look();
    }, { once: true }));
    appendFileSync('storage/ran.log', \`end \${this.id} \${Date.now()}\\n\`);
  }
  async failed() { appendFileSync('storage/ran.log', \`failed \${this.id}\\n\`); }
}
`,
  // Ignores its signal.
  'Ignorer.ts': `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Ignorer extends Jobable {
  static timeout = 60; static tries = 3; static backoff = 0;
  async run() {
    appendFileSync('storage/ran.log', \`start \${this.id} \${Date.now()}\\n\`);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    appendFileSync('storage/ran.log', \`end \${this.id} \${Date.now()}\\n\`);
  }
  async failed() { appendFileSync('storage/ran.log', \`failed \${this.id}\\n\`); }
}
`,
};


export const lastLine = <T>(text: string): T => JSON.parse(text.trim().split('\n').at(-1)!) as T;
