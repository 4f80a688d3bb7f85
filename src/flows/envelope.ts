/**
 * The workflow envelope: a job of a chain or batch carries what its workflow needs (the next
 * job of its chain, its batch and index, a traced dispatch's span context) inside its stored payload text, under the reserved
 * first key `$rakit`. decodePayload (payload.ts) strips it, so the job, its uniqueId() and its
 * failed() hook never see it; a job outside any workflow pays one `startsWith` to be told so.
 */
import { FLOW_PREFIX, FLOW_KEY } from '../api/payload.ts';
import type { TraceCarrier } from '../infra/tracing.ts';

/** A chain job: the held jobs after it and the chain's catch job (ids). */
export interface ChainFlow {
  id: string;
  /** The job run when this one succeeds; null for the last. */
  next: string | null;
  /** The held jobs after `next`, dropped with it when this one fails. */
  rest: string[];
  /** Run when a job of the chain finally fails; dropped when the last succeeds. */
  catch: string | null;
}

export type BatchCallback = 'then' | 'catch' | 'finally';

export interface Flow {
  chain?: ChainFlow;
  /** The batch's id, on its jobs and its callbacks. */
  batch?: string;
  /** A batch job's index in its batch. */
  i?: number;
  /** Set on a batch's callback jobs. */
  callback?: BatchCallback;
  /** Set on a job the outbox relay moved: its row's mark, which one copy runs under (src/outbox/outbox-runs.ts). */
  outbox?: string;
  /** A debounced job's key (dedup.ts): it runs only if still the one named for it. */
  debounce?: string;
  /** Its overlap key is freed as it starts (`static uniqueUntil = 'started'`). */
  unlock?: 'started';
  /** The dispatch's span context (traced.ts): each attempt's span is its child. */
  trace?: TraceCarrier;
}

/** `userText` (an encoded payload, `{...}`) with `flow` as its first key. */
export function wrapPayload(flow: Flow, userText: string): string {
  const head = `${FLOW_PREFIX}${JSON.stringify(flow)}`;
  return userText.length > 2 ? `${head},${userText.slice(1)}` : `${head}}`;
}

/** `text` (a stored payload) with `add` merged into its envelope, or given one. */
export function addToFlow(add: Flow, text: string): string {
  const flow = readFlow(text);
  if (!flow) return wrapPayload(add, text);
  const user = JSON.parse(text) as Record<string, unknown>;
  delete user[FLOW_KEY];
  return wrapPayload({ ...flow, ...add }, JSON.stringify(user));
}

/** Whether a stored payload carries a workflow envelope (one `startsWith`). */
export function inWorkflow(text: string): boolean {
  return text.startsWith(FLOW_PREFIX);
}

/** The chain or batch a stored payload is in (a job that carries only its trace context is in none), or null. */
export function workflowOf(text: string): Flow | null {
  const flow = readFlow(text);
  return flow?.chain || flow?.batch !== undefined ? flow : null;
}

/** The workflow data of a stored payload, or null for a job in no workflow (or an unreadable payload). */
export function readFlow(text: string): Flow | null {
  if (!inWorkflow(text)) return null;
  try {
    const flow = (JSON.parse(text) as Record<string, unknown>)[FLOW_KEY];
    return flow !== null && typeof flow === 'object' ? (flow as Flow) : null;
  } catch {
    return null;
  }
}
