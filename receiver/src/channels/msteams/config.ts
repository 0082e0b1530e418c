// The `type: msteams` channel's config: a Teams Workflows webhook URL (a secret: it carries its own
// signature), how many alerts a card lists, the rate limit and the timeout. Office 365 connector URLs
// (…webhook.office.com…) are refused: Microsoft retired those connectors.
import type { z } from 'zod';
import {
  type BuildContext,
  channelSchema,
  envName,
  failSecret,
  path,
  positiveDuration,
  rateLimit,
  secretOf,
  toRateLimit,
  whole,
} from '../../schema.js';

export const msteamsSchema = channelSchema('msteams', {
  webhook_url_env: envName().optional(),
  webhook_url_file: path().optional(),
  max_alerts: whole(1, 50).default(10),
  // A Teams channel takes a few messages a second; Workflows throttles a flow beyond that (429).
  rate_limit: rateLimit().default({ per_second: 1, burst: 3 }),
  timeout: positiveDuration().default(10_000),
});

/** Hosts of the retired Office 365 connectors (incoming webhooks), which take no Workflows card. */
const CONNECTOR_HOST = /(^|\.)webhook\.office\.com$|^outlook\.office(365)?\.com$/i;

export type MsTeamsSettings = ReturnType<typeof buildMsTeamsSettings>;

export function buildMsTeamsSettings(raw: z.output<typeof msteamsSchema>, { key, secrets }: BuildContext) {
  const source = { env: raw.webhook_url_env, file: raw.webhook_url_file };
  const webhookUrl = secretOf(secrets, `${key}.webhook_url`, source, true);
  if (webhookUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(webhookUrl);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol))
      failSecret(
        `${key}.webhook_url`,
        source,
        'a secret holding the http(s) URL of a Teams Workflows webhook',
      );
    if (CONNECTOR_HOST.test(url.hostname))
      failSecret(
        `${key}.webhook_url`,
        source,
        'a Teams Workflows webhook URL ("Post to a channel when a webhook request is received"); Office 365 connector URLs (webhook.office.com) are retired and not supported',
      );
  }
  return {
    type: 'msteams' as const,
    name: raw.name,
    webhookUrl,
    maxAlerts: raw.max_alerts,
    rateLimit: toRateLimit(raw.rate_limit),
    timeoutMs: raw.timeout,
  };
}
