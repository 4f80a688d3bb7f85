/**
 * The entry of the ES-module build (dist/index.js, `import 'rakit'`): the public API of index.ts,
 * offered to the CommonJS build (dist/index.cjs returns what it finds on globalThis). One rakit
 * per process: an app's `require('rakit')` (its CommonJS jobs, say) then gets this API, with its
 * configuration, connections and Job.fake(), not a second copy of them.
 */
import * as api from './index.ts';

export * from './index.ts';

(globalThis as Record<symbol, unknown>)[Symbol.for('rakit.api')] ??= api;
