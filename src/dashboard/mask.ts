/**
 * Payload masking: the fields named in `dashboard_mask` are shown as `***` wherever they sit in
 * the payload (nested objects and arrays included), before anything reaches a page.
 */

export const MASKED = '***';

/** The payload text pretty-printed with masked fields replaced; unreadable JSON is never shown raw. */
export function maskedPayload(payload: string, fields: readonly string[]): string {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return `(not valid JSON, ${Buffer.byteLength(payload)} bytes)`;
  }
  const masked = new Set(fields);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, masked.has(key) ? MASKED : walk(child)]));
  };
  return JSON.stringify(walk(value), null, 2);
}
