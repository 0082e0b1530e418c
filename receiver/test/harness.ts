// The receiver in-process with real peers: the fake Slack Web API and a real SMTP server (STARTTLS
// with a certificate from a test CA, verified). Short poll and backoff intervals keep tests fast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach } from 'vitest';
import { FakeSlack, type FakeSlackOptions } from '../../test/fakes/slack-api.js';
import { type Metrics, scrape, waitFor } from '../../test/helpers/metrics.js';
import { type TestSmtpOptions, TestSmtpServer } from '../../test/helpers/smtp.js';
import { createTestPki, type TestPki } from '../../test/helpers/tls.js';
import { parseConfig, type ReceiverConfig } from '../src/config.js';
import { type ReceiverOptions, type RunningReceiver, startReceiver } from '../src/receiver.js';
import { RUNBOOKS_DIR } from './fixtures/payloads.js';

export const TOKEN = 'webhook-token-123';

let pki: TestPki | undefined;
/** One test CA per test file (openssl takes a moment). */
export function testPki(): TestPki {
  pki ??= createTestPki();
  return pki;
}
export function cleanupPki(): void {
  pki?.cleanup();
  pki = undefined;
}

export interface HarnessOptions {
  /** Extra or replaced top-level config keys. */
  config?: Record<string, unknown>;
  /** Replaces the default channels (slack + mail). */
  channels?: Record<string, unknown>[];
  /** Added to the default channels (and to default_channels). */
  moreChannels?: Record<string, unknown>[];
  slack?: FakeSlackOptions;
  smtp?: Omit<TestSmtpOptions, 'tls'> & { starttls?: boolean };
  /** Overrides for the email channel's smtp block. */
  smtpConfig?: Record<string, unknown>;
  /** Overrides for the slack channel. */
  slackConfig?: Record<string, unknown>;
  /** Overrides for the email channel (to, cc…). */
  mailConfig?: Record<string, unknown>;
  /** Extra environment variables the config may name (tokens of other channels). */
  env?: Record<string, string>;
  /** Passed to startReceiver (e.g. a store that fails on demand). */
  receiver?: ReceiverOptions;
}

export interface Harness {
  url: string;
  slack: FakeSlack;
  smtp: TestSmtpServer;
  receiver: RunningReceiver;
  config: ReceiverConfig;
  dir: string;
  post(
    body: unknown,
    options?: { path?: string; headers?: Record<string, string>; raw?: string },
  ): Promise<Response>;
  metrics(): Promise<Metrics>;
  /** Waits until the outbox holds no pending or in-flight row. */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * For a test file: a function that starts a harness, each one stopped after its test (and the test CA
 * removed after the file).
 */
export function harnessPerTest(): (options?: HarnessOptions) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  afterAll(() => cleanupPki());
  return async (options = {}) => {
    current = await startHarness(options);
    return current;
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'lm-receiver-'));
  const slack = await FakeSlack.start(options.slack ?? { rateLimit: false });
  const starttls = options.smtp?.starttls ?? true;
  const smtp = await TestSmtpServer.start({
    ...(starttls ? { tls: { key: testPki().read('server.key'), cert: testPki().read('server.pem') } } : {}),
    ...(options.smtp?.auth ? { auth: options.smtp.auth } : {}),
  });
  const env = {
    SLACK_BOT_TOKEN: slack.token,
    WEBHOOK_TOKEN: TOKEN,
    SLACK_WEBHOOK_URL: slack.webhookUrl,
    SMTP_PASS: 'smtp-pass',
    ...options.env,
  };
  const document = {
    listen: '127.0.0.1:0',
    auth: { bearer_token_env: 'WEBHOOK_TOKEN' },
    store: { path: join(dir, 'receiver.db') },
    runbooks_dir: RUNBOOKS_DIR,
    delivery: { poll_interval: '20ms', backoff: { initial: '50ms', max: '400ms' } },
    channels: options.channels ?? [
      {
        name: 'slack',
        type: 'slack',
        token_env: 'SLACK_BOT_TOKEN',
        channel: '#platform-alerts',
        api_url: slack.apiUrl,
        rate_limit: { per_second: 50, burst: 50 },
        timeout: '2s',
        ...options.slackConfig,
      },
      {
        name: 'mail',
        type: 'email',
        smtp: {
          host: '127.0.0.1',
          port: smtp.port,
          ca_file: testPki().caFile,
          timeout: '2s',
          ...options.smtpConfig,
        },
        from: 'Licence alerts <alerts@example.com>',
        to: ['licensing@example.com'],
        ...options.mailConfig,
      },
      ...(options.moreChannels ?? []),
    ],
    default_channels: (
      options.channels ?? [{ name: 'slack' }, { name: 'mail' }, ...(options.moreChannels ?? [])]
    ).map((c) => c.name),
    ...options.config,
  };
  const config = parseConfig(document, join(dir, 'receiver.yaml'), { secrets: true, env });
  const logger = pino({ level: process.env.RECEIVER_TEST_LOG ?? 'silent' });
  const receiver = await startReceiver(config, logger, options.receiver);
  const harness: Harness = {
    url: receiver.url,
    slack,
    smtp,
    receiver,
    config,
    dir,
    post: (body, o = {}) =>
      fetch(`${receiver.url}${o.path ?? '/webhook'}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...o.headers },
        body: o.raw ?? JSON.stringify(body),
      }),
    metrics: () => scrape(`${receiver.url}/metrics`),
    drained: async (timeoutMs = 5000) => {
      await waitFor(
        async () => {
          const stats = await receiver.store.stats();
          return stats.every((s) => s.pending === 0 && s.inflight === 0);
        },
        timeoutMs,
        'the outbox to drain',
      );
    },
    stop: async () => {
      await receiver.stop().catch(() => {});
      await slack.close();
      await smtp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
