/**
 * The house plan of src/ (docs/layout.md) holds: no import circle in src/ or bench/, type-only
 * imports included (madge); no folder of src/ over 15 files; and each folder's README.md names
 * every file and subfolder in it, so the index a reader opens is the folder as it is.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_FILES = 15;

/** Every folder under src/, src/ itself included, as a path relative to the repository. */
function folders(dir = 'src'): string[] {
  const subs = readdirSync(path.join(REPO, dir), { withFileTypes: true }).filter((e) => e.isDirectory());
  return [dir, ...subs.flatMap((e) => folders(`${dir}/${e.name}`))];
}

async function circles(dir: string): Promise<string[]> {
  const graph = await madge(path.join(REPO, dir), { fileExtensions: ['ts'], tsConfig: path.join(REPO, 'tsconfig.json') });
  return graph.circular().map((circle) => circle.join(' > '));
}

describe('the layout of src/', () => {
  it('has no import circle in src/ or bench/, type-only imports included', async () => {
    const found = [...(await circles('src')).map((c) => `src: ${c}`), ...(await circles('bench')).map((c) => `bench: ${c}`)];
    expect(found, `import circles (break each by moving a type to the module below both, or passing a parameter):\n${found.join('\n')}`).toEqual([]);
  }, 180_000);

  it(`has no folder over ${MAX_FILES} files`, () => {
    const crowded = folders()
      .map((dir) => ({ dir, files: readdirSync(path.join(REPO, dir), { withFileTypes: true }).filter((e) => e.isFile()).length }))
      .filter(({ files }) => files > MAX_FILES)
      .map(({ dir, files }) => `${dir}: ${files} files`);
    expect(crowded, `folders over ${MAX_FILES} files (split them by subsystem, see docs/layout.md):\n${crowded.join('\n')}`).toEqual([]);
  });

  it('has a README.md in each folder naming every file and subfolder in it', () => {
    const missing: string[] = [];
    for (const dir of folders()) {
      let index: string;
      try {
        index = readFileSync(path.join(REPO, dir, 'README.md'), 'utf8');
      } catch {
        missing.push(`${dir}/README.md is missing`);
        continue;
      }
      for (const entry of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
        const name = entry.isDirectory() ? `${entry.name}/` : entry.name;
        if (name !== 'README.md' && !index.includes(name)) missing.push(`${dir}/README.md does not name ${name}`);
      }
    }
    expect(missing, missing.join('\n')).toEqual([]);
  });
});
