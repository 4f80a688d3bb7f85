/**
 * How the app's own files are imported: its configuration, job classes, event listeners and
 * migrations, any of which may be TypeScript. By default they are imported as they are, which
 * suits a host that already runs TypeScript (an app under tsx, vitest) or an app of plain
 * JavaScript. The rakit binary runs as plain JavaScript and installs its own way (bin-loader.ts).
 */
import { pathToFileURL } from 'node:url';

export interface AppFiles {
  /** The exports of the configuration module `file` of the app in `root`. */
  importConfig(file: string, root: string): Promise<Record<string, unknown>>;
  /** A job, events or migration module's exports. */
  importModule(file: string): Promise<Record<string, unknown>>;
}

const asIs = (file: string) => import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;

let current: AppFiles = { importConfig: asIs, importModule: asIs };

export function useAppFiles(files: AppFiles): void {
  current = files;
}

export const importConfig = (file: string, root: string) => current.importConfig(file, root);
export const importModule = (file: string) => current.importModule(file);
