/**
 * Payload validation and encoding: a payload is a plain JSON object. Functions, cycles, BigInt,
 * symbols, class instances (other than Date) and non-finite numbers are refused at dispatch,
 * so what is stored is exactly what the job will read back. Its size and its depth are limited
 * (max_payload_bytes, max_payload_depth); the depth is measured without recursion, so a payload
 * nested thousands of levels deep is a PayloadError, never a RangeError of the call stack.
 */
import { MAX_PAYLOAD_DEPTH, configFileName, type JobConfig } from '../infra/config.ts';
import { PayloadError, cutInput } from '../infra/errors.ts';

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
  const depth = check(payload);
  // JSON.stringify itself recurses (and overflows the stack a few thousand levels down).
  if (depth > MAX_PAYLOAD_DEPTH) throw tooDeep(depth, MAX_PAYLOAD_DEPTH, null);
  return JSON.stringify(payload);
}

/** Refuses an encoded payload over the configured size or depth; the message names the app's config file. */
export function assertPayloadLimits(text: string, config: Pick<JobConfig, 'max_payload_bytes' | 'max_payload_depth' | 'root' | 'source'>): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > config.max_payload_bytes) {
    throw new PayloadError(
      `The payload is ${bytes} bytes, over the limit of ${config.max_payload_bytes}: send ids, not whole records ` +
        `(or raise max_payload_bytes in ${configFileName(config)})`,
    );
  }
  const max = config.max_payload_depth ?? MAX_PAYLOAD_DEPTH;
  if (max < MAX_PAYLOAD_DEPTH) {
    const depth = textDepth(text);
    if (depth > max) throw tooDeep(depth, max, configFileName(config));
  }
}

function tooDeep(depth: number, max: number, configFile: string | null): PayloadError {
  return new PayloadError(
    `The payload is nested ${depth} levels deep, over the limit of ${max}: send flatter data` +
      (configFile ? ` (or raise max_payload_depth in ${configFile}, up to ${MAX_PAYLOAD_DEPTH})` : ''),
  );
}

/** The nesting depth of JSON text (the payload object is 1), by one scan. */
function textDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) deepest = Math.max(deepest, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return deepest;
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

/**
 * Checks every value of a payload by a walk with its own stack (no recursion) and returns the
 * payload's depth. `seen` holds the objects on the path from the root: a cycle, not a value
 * shared by two keys.
 */
function check(root: unknown): number {
  if (isFlat(root)) return 1;
  const seen = new Set<object>();
  const stack: { value: unknown; path: string; depth: number; leave?: object }[] = [{ value: root, path: '$', depth: 1 }];
  let deepest = 1;
  while (stack.length > 0) {
    const { value, path, depth, leave } = stack.pop()!;
    if (leave) {
      seen.delete(leave);
      continue;
    }
    if (!checkLeaf(value, path)) continue;
    const object = value as object;
    if (seen.has(object)) throw new PayloadError(`Payload ${cutInput(path)} refers back to itself (a cycle)`);
    const proto = Object.getPrototypeOf(object) as unknown;
    if (!Array.isArray(object) && proto !== Object.prototype && proto !== null) {
      throw new PayloadError(
        `Payload ${cutInput(path)} is a ${describe(object)} instance: send plain data (ids, strings, numbers), not objects`,
      );
    }
    deepest = Math.max(deepest, depth);
    seen.add(object);
    stack.push({ value: null, path, depth, leave: object });
    // Pushed in reverse, so the first key is checked first (the error names the first bad value).
    const entries = Array.isArray(object) ? Array.from(object as unknown[], (item, i) => [`${path}[${i}]`, item] as const) // holes too
      : Object.entries(object).map(([key, item]) => [`${path}.${key}`, item] as const);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: entries[i]![0], depth: depth + 1 });
  }
  return deepest;
}

/**
 * The common payload, a plain object of strings, finite numbers, booleans and nulls (ids, names,
 * flags), in one pass that allocates nothing; anything else takes the walk, which names what is wrong.
 */
function isFlat(root: unknown): boolean {
  if (Object.getPrototypeOf(root) !== Object.prototype) return false;
  for (const key in root as object) {
    const value = (root as Record<string, unknown>)[key];
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'undefined':
        continue;
      case 'number':
        if (Number.isFinite(value)) continue;
        return false;
      case 'object':
        if (value === null) continue;
        return false;
      default:
        return false;
    }
  }
  return true;
}

/** Checks a value that holds no others; true for an object or array, whose values are checked next. */
function checkLeaf(value: unknown, path: string): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined': // dropped by JSON, as in every JSON API
      return false;
    case 'number':
      if (!Number.isFinite(value)) throw new PayloadError(`Payload ${cutInput(path)} is ${value}, which JSON cannot hold`);
      return false;
    case 'object':
      return value !== null && !(value instanceof Date);
    default:
      throw new PayloadError(`Payload ${cutInput(path)} is a ${describe(value)}, which is not JSON-serialisable`);
  }
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
