/**
 * Payload validation and encoding: a payload is a plain JSON object. Functions, cycles, BigInt,
 * symbols, class instances (other than Date) and non-finite numbers are refused at dispatch,
 * so what is stored is exactly what the job will read back.
 */
import { PayloadError } from '../infra/errors.ts';

export type Payload = Record<string, unknown>;

/** The reserved first key under which a job of a chain or batch carries its workflow data (flows/envelope.ts). */
export const FLOW_KEY = '$rakit';
export const FLOW_PREFIX = `{"${FLOW_KEY}":`;

/** Validates a payload and returns its JSON text (the snapshot that is stored). */
export function encodePayload(payload: unknown): string {
  if (payload === undefined || payload === null) payload = {};
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw new PayloadError(`The payload must be a JSON object, got ${describe(payload)}`);
  }
  if (Object.hasOwn(payload as object, FLOW_KEY)) {
    throw new PayloadError(`Payload key ${FLOW_KEY} is reserved for the workflow data of chains and batches: rename it`);
  }
  check(payload, '$', new Set());
  return JSON.stringify(payload);
}

/** Refuses an encoded payload over the configured limit. */
export function assertPayloadSize(text: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new PayloadError(
      `The payload is ${bytes} bytes, over the limit of ${maxBytes}: send ids, not whole records ` +
        `(or raise max_payload_bytes in application/config/job.ts)`,
    );
  }
}

/**
 * Parses a stored payload; throws a plain Error (the job then goes to the failed store) that
 * says what is wrong without quoting the payload (JSON.parse's own message quotes it).
 */
export function decodePayload(text: string): Payload {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`stored payload is not valid JSON (${Buffer.byteLength(text)} bytes)`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`stored payload is not a JSON object but ${describe(value)}`);
  }
  // A chain's or batch's job: its workflow data is not the job's to see.
  if (text.startsWith(FLOW_PREFIX)) delete (value as Payload)[FLOW_KEY];
  return value as Payload;
}

function check(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new PayloadError(`Payload ${path} is ${value}, which JSON cannot hold`);
      return;
    case 'undefined':
      return; // dropped by JSON, as in every JSON API
    case 'object':
      break;
    default:
      throw new PayloadError(`Payload ${path} is a ${describe(value)}, which is not JSON-serialisable`);
  }
  if (value === null || value instanceof Date) return;
  if (seen.has(value)) throw new PayloadError(`Payload ${path} refers back to itself (a cycle)`);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    throw new PayloadError(
      `Payload ${path} is a ${describe(value)} instance: send plain data (ids, strings, numbers), not objects`,
    );
  }
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => check(item, `${path}[${i}]`, seen));
  else for (const [key, item] of Object.entries(value)) check(item, `${path}.${key}`, seen);
  seen.delete(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'function';
  if (typeof value === 'bigint') return 'BigInt';
  if (typeof value === 'symbol') return 'Symbol';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** Reads `key` from a payload; dot paths (`data.user.name`) walk nested objects. */
export function readPath(payload: Payload, key: string): unknown {
  if (Object.hasOwn(payload, key)) return payload[key];
  let node: unknown = payload;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
