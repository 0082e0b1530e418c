// The `type: slack` channel's config: a bot token and a channel (Web API), or an incoming-webhook URL.
import { z } from 'zod';
import {
  type BuildContext,
  channelSchema,
  envName,
  fail,
  failSecret,
  leaf,
  path,
  positiveDuration,
  rateLimit,
  secretOf,
  text,
  toRateLimit,
  whole,
} from '../../schema.js';
import type { SlackControls } from './controls.js';

export const slackSchema = channelSchema('slack', {
  token_env: envName().optional(),
  token_file: path().optional(),
  channel: text('the Slack channel to post to, such as "#platform-alerts" or C0123456789').optional(),
  api_url: leaf(z.url({ protocol: /^https?$/ }), 'an http(s) URL such as https://slack.com/api/').default(
    'https://slack.com/api/',
  ),
  webhook_url_env: envName().optional(),
  webhook_url_file: path().optional(),
  mentions: leaf(
    z.partialRecord(z.enum(['critical', 'error', 'warning', 'info']), z.string()),
    'a map from severity (critical, error, warning, info) to a Slack mention such as "<!subteam^S0123ABCD>"',
  ).default({}),
  max_alerts: whole(1, 40).default(10),
  rate_limit: rateLimit().default({ per_second: 1, burst: 3 }),
  timeout: positiveDuration().default(10_000),
  concurrency: whole(1, 16).default(4),
});

export type SlackSettings = ReturnType<typeof buildSlackSettings>;

export function buildSlackSettings(raw: z.output<typeof slackSchema>, { key, secrets }: BuildContext) {
  const api = raw.token_env !== undefined || raw.token_file !== undefined;
  const hook = raw.webhook_url_env !== undefined || raw.webhook_url_file !== undefined;
  if (api === hook)
    fail(
      key,
      raw.name,
      'a Slack channel with either a bot token (token_env or token_file, and channel) or an incoming webhook (webhook_url_env or webhook_url_file)',
    );
  if (api && raw.channel === undefined)
    fail(`${key}.channel`, undefined, 'the Slack channel to post to, such as "#platform-alerts"');
  if (hook && raw.channel !== undefined)
    fail(
      `${key}.channel`,
      raw.channel,
      'no channel with an incoming webhook (the webhook URL decides the channel)',
    );
  const token = secretOf(secrets, `${key}.token`, { env: raw.token_env, file: raw.token_file }, false);
  const hookSource = { env: raw.webhook_url_env, file: raw.webhook_url_file };
  const webhookUrl = secretOf(secrets, `${key}.webhook_url`, hookSource, false);
  if (webhookUrl !== undefined && !/^https?:\/\//.test(webhookUrl))
    failSecret(`${key}.webhook_url`, hookSource, 'a secret holding an http(s) URL');
  return {
    type: 'slack' as const,
    name: raw.name,
    mode: api ? ('api' as const) : ('webhook' as const),
    channel: raw.channel,
    apiUrl: raw.api_url,
    token,
    webhookUrl,
    mentions: raw.mentions as Record<string, string>,
    maxAlerts: raw.max_alerts,
    rateLimit: toRateLimit(raw.rate_limit),
    timeoutMs: raw.timeout,
    /** Groups delivered at once (one group's notifications always one at a time, in order). */
    concurrency: raw.concurrency,
    /** Acknowledge and Snooze on its messages: set from the top-level slack_interactivity (bot token only). */
    controls: undefined as SlackControls | undefined,
  };
}
