// Slack's request signing (https://docs.slack.dev/authentication/verifying-requests-from-slack):
// `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>">`, keyed with
// the app's signing secret. A request older (or newer) than five minutes is refused, so a captured
// request cannot be replayed later; within those five minutes a replay is caught by the outbox (one
// row per click). Pure.
import { createHmac } from 'node:crypto';
import { safeEqual } from '../server.js';

/** How far the request's timestamp may be from our clock, in seconds (Slack's own advice). */
export const SIGNATURE_TOLERANCE_S = 300;

export type SignatureVerdict = 'ok' | 'missing' | 'stale' | 'forged';

/** `v0=<hex>` for a timestamp and the body exactly as received. */
export function slackSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

export interface SignedRequest {
  /** X-Slack-Request-Timestamp: seconds since the epoch. */
  timestamp: string | undefined;
  /** X-Slack-Signature. */
  signature: string | undefined;
  body: string | Buffer;
}

/** Checks a request's signature (constant time) and its age against `now` (ms). */
export function verifySlackRequest(
  secret: string,
  request: SignedRequest,
  now: number,
  toleranceS = SIGNATURE_TOLERANCE_S,
): SignatureVerdict {
  const { timestamp, signature } = request;
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'forged';
  // Compared first: a stale request with a forged signature is forged.
  if (!safeEqual(slackSignature(secret, timestamp, request.body), signature)) return 'forged';
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceS) return 'stale';
  return 'ok';
}
