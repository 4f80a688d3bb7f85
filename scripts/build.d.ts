/** Builds dist/ from src/ unless it was built from these sources (scripts/build.js). */
export function ensureBuilt(): Promise<void>;
/** Builds what the package ships: dist/ of this build only, dist/index.cjs and dist/types/. */
export function buildPackage(): Promise<void>;
