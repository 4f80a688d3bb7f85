// Builds dist/ from src/ once before the tests start the binary (it would otherwise rebuild in
// whichever process started first).
import { ensureBuilt } from '../scripts/build.js';

export default async function setup(): Promise<void> {
  await ensureBuilt();
}
