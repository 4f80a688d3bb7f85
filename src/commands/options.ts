/**
 * Parsers for command-line values; each throws commander's InvalidArgumentError with what to do.
 */
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../infra/errors.ts';
import type { Backoff } from '../infra/backoff.ts';
import { QUEUE_NAME } from '../infra/naming.ts';

export function wholeNumber(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
      throw new InvalidArgumentError(`give a whole number ≥ ${min}`);
    }
    return Number(value);
  };
}

export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('give seconds > 0');
  return n;
}

/** `--delay`: seconds ≥ 0 (fractions allowed). */
export function delaySeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('give seconds ≥ 0, e.g. --delay 90');
  return n;
}

/**
 * `--at`: `@<Unix seconds>` becomes a number; a date stays text, read in the config timezone at
 * dispatch. Digits alone are refused: `20261231` is a date to a person and 1970 to a parser.
 */
export function atTime(value: string): string | number {
  const text = value.trim();
  if (/^@\d+(\.\d+)?$/.test(text)) return Number(text.slice(1));
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new InvalidArgumentError(`"${text}" is ambiguous: for Unix seconds write --at @${text}, for a date --at 2026-12-31 or --at '2026-12-31 10:00'`);
  }
  return text;
}

/** `--queue`: names in strict priority order, or every one with a weight (`high:6,default:3,low:1`). */
export interface QueueList {
  queues: string[];
  weights: number[] | null;
}

export function queueList(value: string): QueueList {
  const items = value.split(',').map((q) => q.trim());
  const weighted = items.filter((item) => /:\d+$/.test(item)).length;
  if (weighted > 0 && weighted < items.length) throw new InvalidArgumentError('give every queue a weight (high:6,default:3,low:1) or none (high,default,low)');
  const queues = weighted > 0 ? items.map((item) => item.slice(0, item.lastIndexOf(':'))) : items;
  const bad = queues.find((q) => !QUEUE_NAME.test(q));
  if (bad !== undefined) {
    throw new InvalidArgumentError(`"${bad}" is not a queue name: give names separated by commas, e.g. --queue=high,default,low`);
  }
  if (new Set(queues).size !== queues.length) throw new InvalidArgumentError('a queue is listed twice');
  if (weighted === 0) return { queues, weights: null };
  const weights = items.map((item) => Number(item.slice(item.lastIndexOf(':') + 1)));
  if (weights.some((w) => w < 1 || w > 1000)) throw new InvalidArgumentError('a queue\'s weight is a whole number from 1 to 1000');
  return { queues, weights };
}

export function queueName(value: string): string {
  if (!QUEUE_NAME.test(value)) throw new InvalidArgumentError('start with a letter or digit, then letters, digits and . _ : - (at most 64)');
  return value;
}

/** Queue names given as arguments (`job:pause a b`): each checked, each once. */
export function queueArguments(names: string[]): string[] {
  const bad = names.find((q) => !QUEUE_NAME.test(q));
  if (bad !== undefined) throw new UsageError(`"${bad}" is not a queue name: start with a letter or digit, then letters, digits and . _ : - (at most 64)`);
  return [...new Set(names)];
}

export function backoffList(value: string): Backoff {
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.some((n, i) => !Number.isFinite(n) || n < 0 || value.split(',')[i]!.trim() === '')) {
    throw new InvalidArgumentError('give seconds ≥ 0, e.g. --backoff=10 or --backoff=10,60,300');
  }
  return parts.length === 1 ? parts[0]! : parts;
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`not JSON (${(error as Error).message}); quote it: --payload '{"to":"a@b.c"}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('give a JSON object, e.g. --payload \'{"to":"a@b.c"}\'');
  }
  return parsed as Record<string, unknown>;
}
