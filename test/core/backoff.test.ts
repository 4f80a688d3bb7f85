import { describe, expect, it } from 'vitest';
import { backoffDelayMs, exponentialMs } from '../../src/infra/backoff.ts';

describe('backoff', () => {
  it("a job's backoff: one number for every retry, or a list whose last value repeats", () => {
    expect([1, 2, 3].map((n) => backoffDelayMs(5, n))).toEqual([5000, 5000, 5000]);
    expect([1, 2, 3, 4].map((n) => backoffDelayMs([10, 60], n))).toEqual([10_000, 60_000, 60_000, 60_000]);
    expect(backoffDelayMs(0.25, 1)).toBe(250);
    expect(backoffDelayMs([], 1)).toBe(0);
    expect(backoffDelayMs(-3, 1)).toBe(0);
  });

  it('the capped exponential wait doubles from its first value and never passes its cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => exponentialMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    expect(exponentialMs(60, 100, 5000)).toBe(5000);
    expect(exponentialMs(0, 100, 5000)).toBe(100);
  });
});
