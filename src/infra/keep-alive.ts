/**
 * What keeps a process alive. Connections to the queue store never do by themselves: their
 * sockets and pool timers are unref'd where they are made (drivers/<store>/*-connection.ts), so a script
 * that dispatches and ends exits, as with the file driver. Work in flight holds the process open
 * through `holding()` (a dispatch, `Job.run`, a whole CLI command), and when the event loop is
 * otherwise empty the runtime closes its connections (runtime.ts).
 */

let inFlight = 0;
/** One long timer, ref'd while anything is held: a toggle per hold, no new handle. */
let handle: NodeJS.Timeout | null = null;

/** Keeps the process alive until `work` settles. */
export async function holding<T>(work: () => Promise<T>): Promise<T> {
  if (inFlight++ === 0) (handle ??= setInterval(() => undefined, 2 ** 31 - 1)).ref();
  try {
    return await work();
  } finally {
    if (--inFlight === 0) handle!.unref();
  }
}

/** Lets a socket or timer of an idle connection not hold the process open. */
export function unrefHandle(handle: { unref?: () => unknown } | null | undefined): void {
  handle?.unref?.();
}
