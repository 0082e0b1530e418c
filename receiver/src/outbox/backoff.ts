// Exponential backoff with jitter ("equal jitter": half fixed, half random, so retries of many rows
// spread out but never come sooner than half the nominal delay). Pure given `random`.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Share of the delay that is random, 0…1. */
  jitter: number;
}

/** Delay before attempt number `attempt` + 1, where `attempt` ≥ 1 attempts have failed. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  const fixed = nominal * (1 - policy.jitter);
  return Math.round(fixed + nominal * policy.jitter * random());
}

/**
 * The delay to wait after a failure: the destination's Retry-After when it gave one (never sooner,
 * plus up to 10 % so that many rows do not return at the same instant), else the backoff.
 */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.round(retryAfterMs * (1 + 0.1 * random()));
  return backoffDelay(policy, attempt, random);
}
