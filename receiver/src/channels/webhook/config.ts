// The `type: webhook` channel's config: where to POST (the URL may itself be a secret), an optional
// bearer token, an optional HMAC-SHA256 signing secret, and static headers.
import { z } from 'zod';
import {
  type BuildContext,
  envName,
  fail,
  httpUrl,
  leaf,
  path,
  positiveDuration,
  rateLimit,
  secretOf,
  text,
  toRateLimit,
  whole,
} from '../../schema.js';

export const webhookSchema = z.strictObject({
  name: text('a channel name'),
  type: z.literal('webhook'),
  url: httpUrl('the http(s) URL to POST to').optional(),
  url_env: envName().optional(),
  url_file: path().optional(),
  bearer_token_env: envName().optional(),
  bearer_token_file: path().optional(),
  secret_env: envName().optional(),
  secret_file: path().optional(),
  headers: leaf(
    z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()),
    'a map from a header name to its value (no secrets: use bearer_token_env or secret_env)',
  ).default({}),
  max_alerts: whole(1, 1000).default(100),
  rate_limit: rateLimit().default({ per_second: 10, burst: 20 }),
  timeout: positiveDuration().default(10_000),
});

/** Headers the channel sets itself (or that belong to the connection): not allowed in `headers`. */
const RESERVED_HEADER =
  /^(authorization|content-type|content-length|host|user-agent|connection|transfer-encoding|x-license-monitor-.*)$|signature|timestamp/i;

export type WebhookChannelSettings = ReturnType<typeof buildWebhookSettings>;

export function buildWebhookSettings(raw: z.output<typeof webhookSchema>, { key, secrets }: BuildContext) {
  const sources = (['url', 'url_env', 'url_file'] as const).filter((k) => raw[k] !== undefined);
  if (sources.length === 0)
    fail(`${key}.url`, undefined, 'the http(s) URL to POST to: one of url, url_env and url_file');
  if (sources.length > 1) {
    const second = sources[1] as (typeof sources)[number];
    fail(`${key}.${second}`, raw[second], `only one of url, url_env and url_file (${sources[0]} is set too)`);
  }
  for (const [header, value] of Object.entries(raw.headers)) {
    // The error shows the header name, not its value: a header named Authorization holds a credential.
    if (RESERVED_HEADER.test(header))
      fail(
        `${key}.headers`,
        header,
        'header names the channel does not set itself (use bearer_token_env or bearer_token_file for Authorization; Content-Type, User-Agent and X-License-Monitor-* are set by the channel)',
      );
    if (/[\r\n\0]/.test(value)) fail(`${key}.headers.${header}`, value, 'a header value without line breaks');
  }
  const url = raw.url ?? secretOf(secrets, `${key}.url`, { env: raw.url_env, file: raw.url_file }, false);
  if (url !== undefined) {
    const where = raw.url !== undefined ? 'url' : raw.url_env !== undefined ? 'url_env' : 'url_file';
    // A URL read from a secret is not shown: the error names where it came from.
    if (!/^https?:\/\/[^\s]+$/.test(url)) fail(`${key}.${where}`, raw[where], 'an http(s) URL');
    if (/^https?:\/\/[^/?#]*@/.test(url))
      fail(
        `${key}.${where}`,
        where === 'url' ? url.replace(/\/\/[^/?#]*@/, '//***@') : raw[where],
        'an http(s) URL without user:password@ (use bearer_token_env or headers for credentials)',
      );
  }
  const bearerToken = secretOf(
    secrets,
    `${key}.bearer_token`,
    { env: raw.bearer_token_env, file: raw.bearer_token_file },
    false,
  );
  const secret = secretOf(secrets, `${key}.secret`, { env: raw.secret_env, file: raw.secret_file }, false);
  return {
    type: 'webhook' as const,
    name: raw.name,
    headers: raw.headers,
    maxAlerts: raw.max_alerts,
    rateLimit: toRateLimit(raw.rate_limit),
    timeoutMs: raw.timeout,
    ...(url !== undefined ? { url } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    /** HMAC-SHA256 key: when set, every POST carries a signature over timestamp and body. */
    ...(secret !== undefined ? { secret } : {}),
  };
}
