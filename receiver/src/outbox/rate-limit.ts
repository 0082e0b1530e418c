// Per-destination rate limit: a token bucket (rate per second, burst) that a Retry-After can also
// block for a while. Slack allows about one message per second per channel with short bursts.
import type { RateLimit } from '../channels/channel.js';

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private blockedUntil = 0;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(
        this.limit.burst,
        this.tokens + ((now - this.updatedAt) / 1000) * this.limit.perSecond,
      );
      this.updatedAt = now;
    }
  }

  /** Whole tokens available now (0 while blocked). */
  available(now: number): number {
    if (now < this.blockedUntil) return 0;
    if (!Number.isFinite(this.limit.perSecond)) return Number.POSITIVE_INFINITY;
    this.refill(now);
    return Math.floor(this.tokens + 1e-9);
  }

  take(now: number): boolean {
    if (this.available(now) < 1) return false;
    if (Number.isFinite(this.limit.perSecond)) this.tokens -= 1;
    return true;
  }

  /** When the next token will be there. */
  nextAt(now: number): number {
    if (now < this.blockedUntil) return this.blockedUntil;
    if (this.available(now) >= 1) return now;
    return now + Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000);
  }

  /** No token before `until` (the destination said Retry-After); then one, and the usual rate after it. */
  block(until: number, now: number): void {
    this.refill(now);
    this.blockedUntil = Math.max(this.blockedUntil, until);
    this.tokens = Math.min(1, this.limit.burst);
    this.updatedAt = Math.max(this.updatedAt, this.blockedUntil);
  }
}
