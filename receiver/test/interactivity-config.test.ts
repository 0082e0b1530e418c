// The slack_interactivity config: defaults, the controls it puts on Slack channels with a bot token,
// and clear errors that name the key and never show a secret.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const ENV = {
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x',
  SLACK_SIGNING_SECRET: 'sh-secret-value',
  AM_TOKEN: 'am-token',
};
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-interactivity-'));
  writeFileSync(join(dir, 'signing'), 'file-secret\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHANNELS = `
channels:
  - { name: slack-api, type: slack, token_env: SLACK_BOT_TOKEN, channel: C0123456789 }
  - { name: slack-hook, type: slack, webhook_url_env: SLACK_WEBHOOK_URL }
default_channels: [slack-api, slack-hook]
`;

function load(interactivity: string, env: NodeJS.ProcessEnv = ENV) {
  const file = join(dir, 'receiver.yaml');
  writeFileSync(file, `${CHANNELS}slack_interactivity:\n${interactivity}`);
  return loadConfig(file, { secrets: true, env });
}

function error(interactivity: string, env?: NodeJS.ProcessEnv): string {
  try {
    load(interactivity, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('slack_interactivity config', () => {
  it('reads the defaults and puts controls on the bot-token Slack channel only', () => {
    const config = load('  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093/\n');
    expect(config.slackInteractivity).toEqual({
      path: '/slack/interactions',
      signingSecret: 'sh-secret-value',
      alertmanager: { url: 'http://am:9093', auth: undefined, timeoutMs: 10_000 },
      allowedUsers: [],
      durations: [
        { text: '1d', ms: 86_400_000 },
        { text: '3d', ms: 259_200_000 },
        { text: '7d', ms: 604_800_000 },
      ],
    });
    const [api, hook] = config.channels as { controls?: unknown }[];
    expect(api?.controls).toEqual({ durations: config.slackInteractivity?.durations });
    expect(hook?.controls).toBeUndefined();
  });

  it('reads the secret from a file, Alertmanager credentials, users and durations', () => {
    const config = load(
      [
        `  signing_secret_file: ${join(dir, 'signing')}`,
        '  path: /hooks/slack',
        '  alertmanager_url: https://am.example.com',
        '  alertmanager_auth: { bearer_token_env: AM_TOKEN }',
        '  allowed_users: [U0123ABCD, W0123ABCD]',
        '  snooze_durations: [12h, 2w]',
        '',
      ].join('\n'),
    );
    expect(config.slackInteractivity).toMatchObject({
      path: '/hooks/slack',
      signingSecret: 'file-secret',
      alertmanager: { auth: { bearerToken: 'am-token' } },
      allowedUsers: ['U0123ABCD', 'W0123ABCD'],
      durations: [
        { text: '12h', ms: 43_200_000 },
        { text: '2w', ms: 1_209_600_000 },
      ],
    });
  });

  it.each([
    ['  alertmanager_url: http://am:9093\n', 'slack_interactivity.signing_secret_env: missing'],
    ['  signing_secret_env: SLACK_SIGNING_SECRET\n', 'slack_interactivity.alertmanager_url: missing'],
    [
      '  signing_secret_env: NOT_SET\n  alertmanager_url: http://am:9093\n',
      'slack_interactivity.signing_secret_env: "NOT_SET" is not valid: expected the name of an environment variable that is set',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: ftp://am\n',
      'slack_interactivity.alertmanager_url: "ftp://am" is not valid: expected the http(s) URL of Alertmanager',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093\n  path: /webhook\n',
      'slack_interactivity.path: "/webhook" is not valid: expected a path the receiver does not serve already',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093\n  allowed_users: [alice]\n',
      'slack_interactivity.allowed_users[0]: "alice" is not valid: expected a Slack user id such as U0123ABCD',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093\n  snooze_durations: [3 days]\n',
      'slack_interactivity.snooze_durations[0]: "3 days" is not valid: expected a duration such as 1d, 12h or 2w',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093\n  snooze_durations: [1d, 1d]\n',
      'slack_interactivity.snooze_durations',
    ],
    [
      '  signing_secret_env: SLACK_SIGNING_SECRET\n  alertmanager_url: http://am:9093\n  alertmanager_auth: {}\n',
      'slack_interactivity.alertmanager_auth',
    ],
  ])('%j → %s', (text, expected) => {
    expect(error(text)).toContain(expected);
  });

  it('never shows the signing secret in an error (pasted in place of a variable name)', () => {
    const message = error('  signing_secret_env: "v0=abc def secret"\n  alertmanager_url: http://am:9093\n');
    expect(message).toContain('slack_interactivity.signing_secret_env');
    expect(message).not.toContain('abc def secret');
  });
});

describe('deploy/slack-app-manifest.yaml', () => {
  const manifest = yaml.load(
    readFileSync(new URL('../deploy/slack-app-manifest.yaml', import.meta.url), 'utf8'),
  ) as {
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean; request_url: string } };
  };

  it('asks for chat:write and the history scopes, and points interactivity at the default path over HTTPS', () => {
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining(['chat:write', 'channels:history', 'groups:history']),
    );
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    const url = new URL(manifest.settings.interactivity.request_url);
    expect(url.protocol).toBe('https:');
    expect(url.pathname).toBe('/slack/interactions');
  });
});
