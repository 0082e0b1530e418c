// The top-level `slack_interactivity` config: where Slack posts clicks (a path on the receiver's own
// listener), the app's signing secret, the Alertmanager that gets the silences (API v2, with auth as
// for the receiver's webhook), who may act and which snooze durations are offered.

import { parseDurationMs } from '@license-monitor/common';
import { z } from 'zod';
import {
  type AuthSettings,
  authSchema,
  buildAuth,
  envName,
  fail,
  httpUrl,
  leaf,
  list,
  path,
  positiveDuration,
  type Secrets,
  secretOf,
} from '../schema.js';

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
const DURATION_TEXT = /^\d{1,4}[mhdw]$/;

export const interactivitySchema = z.strictObject({
  path: leaf(z.string().regex(/^\/[A-Za-z0-9._~/-]*$/), 'a URL path such as /slack/interactions').default(
    '/slack/interactions',
  ),
  signing_secret_env: envName().optional(),
  signing_secret_file: path().optional(),
  alertmanager_url: httpUrl('the http(s) URL of Alertmanager, such as http://alertmanager:9093'),
  alertmanager_auth: authSchema.optional(),
  alertmanager_timeout: positiveDuration().default(10_000),
  allowed_users: list(
    leaf(z.string().regex(SLACK_USER_ID), 'a Slack user id such as U0123ABCD'),
    'a list of Slack user ids',
  ).default([]),
  snooze_durations: list(
    leaf(z.string().regex(DURATION_TEXT), 'a duration such as 1d, 12h or 2w'),
    'a list of durations',
  ).default(['1d', '3d', '7d']),
});

export type InteractivitySettings = ReturnType<typeof buildInteractivity>;

/** Paths the receiver serves itself: the interactivity path must be none of them. */
const TAKEN = /^\/(webhook(\/.*)?|metrics|healthz|readyz|api(\/.*)?)?$/;

export function buildInteractivity(raw: z.output<typeof interactivitySchema>, secrets: Secrets) {
  const key = 'slack_interactivity';
  if (TAKEN.test(raw.path))
    fail(
      `${key}.path`,
      raw.path,
      'a path the receiver does not serve already (not /, /webhook, /metrics, /healthz, /readyz, /api)',
    );
  const durations = raw.snooze_durations.map((text, i) => {
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) fail(`${key}.snooze_durations[${i}]`, text, 'a positive duration');
    return { text, ms };
  });
  if (durations.length === 0 || durations.length > 5)
    fail(`${key}.snooze_durations`, raw.snooze_durations, 'one to five durations');
  if (new Set(raw.snooze_durations).size !== durations.length)
    fail(`${key}.snooze_durations`, raw.snooze_durations, 'durations without repeats');
  const auth: AuthSettings | undefined =
    raw.alertmanager_auth && buildAuth(raw.alertmanager_auth, secrets, `${key}.alertmanager_auth`);
  return {
    path: raw.path,
    /** '' when secrets are not read (render): then nothing verifies. */
    signingSecret:
      secretOf(
        secrets,
        `${key}.signing_secret`,
        { env: raw.signing_secret_env, file: raw.signing_secret_file },
        true,
      ) ?? '',
    alertmanager: {
      url: raw.alertmanager_url.replace(/\/+$/, ''),
      auth,
      timeoutMs: raw.alertmanager_timeout,
    },
    allowedUsers: raw.allowed_users,
    durations,
  };
}

/**
 * The channels with Acknowledge and Snooze on their messages: every Slack channel with a bot token
 * (an incoming webhook cannot edit what it posted), when slack_interactivity is configured.
 */
export function withSlackControls<C extends { type: string }>(
  channels: C[],
  interactivity: InteractivitySettings | undefined,
): C[] {
  if (!interactivity) return channels;
  for (const channel of channels) {
    const slack = channel as C & { mode?: string; controls?: unknown };
    if (slack.type === 'slack' && slack.mode !== 'webhook')
      slack.controls = { durations: interactivity.durations };
  }
  return channels;
}
