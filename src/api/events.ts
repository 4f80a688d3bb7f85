/**
 * The legacy event API: `Event.listen('rakit.jobs.run: NAME', payload => ...)` registers a
 * handler for jobs named NAME; `Event.fire` calls the listeners of any event.
 */
export type Listener = (...args: any[]) => unknown;

export const JOB_EVENT_PREFIX = 'rakit.jobs.run:';

/**
 * One listener table per process, shared by the ES-module and CommonJS builds of the package:
 * a TypeScript app of `"type": "commonjs"` may import rakit from an .mts script (the ES build)
 * while its events file registers through the CommonJS one.
 */
const SHARED = Symbol.for('rakit.jobs.listeners');
const listeners: Map<string, Listener[]> = ((globalThis as Record<symbol, unknown>)[SHARED] as Map<string, Listener[]> | undefined)
  ?? ((globalThis as Record<symbol, unknown>)[SHARED] = new Map<string, Listener[]>());

function key(event: string): string {
  // 'rakit.jobs.run: send-email' and 'rakit.jobs.run:send-email' are one event.
  return event.startsWith(JOB_EVENT_PREFIX) ? `${JOB_EVENT_PREFIX} ${event.slice(JOB_EVENT_PREFIX.length).trim()}` : event;
}

export const Event = {
  /** Adds a listener; for jobs, the event is `rakit.jobs.run: NAME` and the listener gets the payload. */
  listen(event: string, listener: Listener): void {
    if (typeof listener !== 'function') throw new TypeError(`Event.listen("${event}"): the listener must be a function`);
    const k = key(event);
    listeners.set(k, [...(listeners.get(k) ?? []), listener]);
  },
  /** Calls every listener of `event` in order, awaiting each; returns their results. */
  async fire(event: string, ...args: unknown[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const listener of listeners.get(key(event)) ?? []) results.push(await listener(...args));
    return results;
  },
  /** Whether `event` has listeners. */
  hasListeners(event: string): boolean {
    return (listeners.get(key(event))?.length ?? 0) > 0;
  },
  /** Removes the listeners of `event` (all events when omitted). */
  forget(event?: string): void {
    if (event === undefined) listeners.clear();
    else listeners.delete(key(event));
  },
};

/** The listeners of jobs named `name`. */
export function jobListeners(name: string): Listener[] {
  return listeners.get(`${JOB_EVENT_PREFIX} ${name}`) ?? [];
}

/** Names of every job that has a listener. */
export function listenedJobNames(): string[] {
  return [...listeners.keys()].filter((k) => k.startsWith(JOB_EVENT_PREFIX)).map((k) => k.slice(JOB_EVENT_PREFIX.length + 1));
}
