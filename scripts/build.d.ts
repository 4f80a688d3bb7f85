/** Builds dist/ from src/ unless it was built from these sources (scripts/build.js). */
export function ensureBuilt(): Promise<void>;
