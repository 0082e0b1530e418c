import { describe, expect, it } from 'vitest';
import { backoffDelay, retryDelay } from '../src/outbox/backoff.js';
import { TokenBucket } from '../src/outbox/rate-limit.js';

const policy = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };

describe('backoff', () => {
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0, 1000],
    [3, 0.5, 3000],
    [10, 1, 60_000], // capped
  ])('attempt %d with random %d → %d ms', (attempt, r, ms) => {
    expect(backoffDelay(policy, attempt, () => r)).toBe(ms);
  });

  it('honours Retry-After, never sooner, at most 10 % later', () => {
    expect(retryDelay(policy, 5, 2000, () => 0)).toBe(2000);
    expect(retryDelay(policy, 5, 2000, () => 1)).toBe(2200);
    expect(retryDelay(policy, 1, undefined, () => 0)).toBe(500);
  });
});

describe('token bucket', () => {
  it('allows a burst, then one per period', () => {
    const b = new TokenBucket({ perSecond: 1, burst: 3 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.nextAt(0)).toBe(1000);
    expect(b.take(999)).toBe(false);
    expect(b.take(1000)).toBe(true);
  });

  it('is blocked until a Retry-After has passed, then allows one', () => {
    const b = new TokenBucket({ perSecond: 1, burst: 3 }, 0);
    b.block(5000, 100);
    expect(b.available(4999)).toBe(0);
    expect(b.nextAt(100)).toBe(5000);
    expect(b.take(5000)).toBe(true);
    expect(b.take(5000)).toBe(false);
  });

  it('never limits an unlimited channel', () => {
    const b = new TokenBucket({ perSecond: Number.POSITIVE_INFINITY, burst: Number.POSITIVE_INFINITY }, 0);
    for (let i = 0; i < 1000; i++) expect(b.take(0)).toBe(true);
  });
});
