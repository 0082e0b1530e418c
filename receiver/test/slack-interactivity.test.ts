// Acknowledge and Snooze from Slack through a real Alertmanager: Alertmanager notifies the receiver,
// the receiver posts to the fake Slack with controls, a user's click (signed as Slack signs it) becomes a
// silence in Alertmanager (API v2) with the group's labels and the user as author; Alertmanager then
// suppresses the group's notifications until Unsnooze expires the silence. Also: Alertmanager down at
// the click (the user is told, the click is retried and makes one silence), Slack failing after the
// silence was made (still one silence), users not allowed, Acknowledge.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/pipeline.mjs';
import { FakeGitHub } from '../../test/fakes/github-api.js';
import { FakeJira } from '../../test/fakes/jira-api.js';
import { FakeServiceNow } from '../../test/fakes/servicenow-api.js';
import type { SlackMessage } from '../../test/fakes/slack-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import {
  describeEachPair,
  type Running,
  startAlertmanager as startPairAlertmanager,
  type Tools,
} from '../../test/helpers/tools.js';
import type { Silence } from '../src/interactions/silences.js';
import { fixture } from './fixtures/payloads.js';
import { type Harness, harnessPerTest, TOKEN } from './harness.js';

const SECRET = 'slack-signing-secret-for-tests';
const ALICE = { id: 'U0ALICE01', username: 'alice' };
const MALLORY = { id: 'U0MALLORY', username: 'mallory' };
const GROUP_LABELS = { alertname: 'CalicoLicenseExpiringSoon', cluster: 'prod' };

const startHarness = harnessPerTest();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The pair's Alertmanager on 127.0.0.1:port, notifying the receiver fast (group_interval 1s, repeat 2s). */
async function startAlertmanager(tools: Tools, port: number, receiverUrl: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'lm-am-'));
  mkdirSync(join(dir, 'data'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    [
      'route:',
      '  receiver: license-receiver',
      '  group_by: [alertname, cluster]',
      '  group_wait: 100ms',
      '  group_interval: 1s',
      '  repeat_interval: 2s',
      'receivers:',
      '  - name: license-receiver',
      '    webhook_configs:',
      `      - url: ${receiverUrl}/webhook`,
      '        send_resolved: true',
      '        http_config:',
      `          authorization: { credentials: ${TOKEN} }`,
      '',
    ].join('\n'),
  );
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const am = await startPairAlertmanager(tools, { config, dataDir: join(dir, 'data'), port });
  cleanups.push(async () => {
    await am.stop();
  });
  return am;
}

async function startReceiver(
  amPort: number,
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Promise<Harness> {
  return startHarness({
    config: {
      ...top,
      slack_interactivity: {
        signing_secret_env: 'SLACK_SIGNING_SECRET',
        alertmanager_url: `http://127.0.0.1:${amPort}`,
        snooze_durations: ['1d', '3d'],
        ...extra,
      },
    },
    env: { SLACK_SIGNING_SECRET: SECRET },
  });
}

async function fire(amPort: number, endsAt = Date.now() + 3_600_000): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([
      {
        labels: { ...GROUP_LABELS, severity: 'warning', licence: 'calico-enterprise' },
        annotations: { summary: 'The Calico Enterprise licence expires in 12 days' },
        startsAt: new Date().toISOString(),
        endsAt: new Date(endsAt).toISOString(),
      },
    ]),
  });
  expect(res.status).toBe(200);
}

async function silences(amPort: number): Promise<Silence[]> {
  const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/silences`);
  return (await res.json()) as Silence[];
}

const buttons = (m: SlackMessage): string[] =>
  m.blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements as { action_id: string }[]).map((e) => e.action_id))
    .filter((id) => id.startsWith('lm:'));

/** The group's message once it carries the button `actionId`. */
async function messageWith(h: Harness, actionId: string): Promise<SlackMessage> {
  return waitFor(
    () => h.slack.roots().find((m) => buttons(m).includes(actionId)),
    10_000,
    `a message with ${actionId}`,
  );
}

async function click(h: Harness, message: SlackMessage, actionId: string, user = ALICE): Promise<Response> {
  const { body, headers } = h.slack.interaction(message, actionId, user, SECRET);
  return fetch(`${h.url}/slack/interactions`, { method: 'POST', headers, body });
}

async function webhooks(h: Harness): Promise<number> {
  return (await h.metrics()).value('license_receiver_webhook_requests_total', { code: '200' }) ?? 0;
}

const threadText = (h: Harness, root: SlackMessage) => h.slack.replies(root).map((r) => r.text);

describeEachPair('Slack interactivity', (tools) => {
  it('snooze → a silence with the group labels and the user as author → notifications suppressed → unsnooze → expired', async () => {
    const amPort = await freePort();
    const h = await startReceiver(amPort);
    await startAlertmanager(tools, amPort, h.url);
    await fire(amPort);
    const message = await messageWith(h, 'lm:snooze:3d');
    expect(buttons(message)).toEqual(['lm:ack', 'lm:snooze:1d', 'lm:snooze:3d']);

    // Without a silence, Alertmanager repeats the group every 2 s (what the silence must stop).
    const before = await webhooks(h);
    await waitFor(async () => (await webhooks(h)) >= before + 1, 6000, 'a repeated notification');

    const res = await click(h, message, 'lm:snooze:3d');
    expect(res.status).toBe(200);
    const silence = await waitFor(
      async () => (await silences(amPort)).find((s) => s.status.state === 'active'),
      10_000,
      'the silence in Alertmanager',
    );
    expect(silence.matchers).toEqual([
      { name: 'alertname', value: 'CalicoLicenseExpiringSoon', isRegex: false, isEqual: true },
      { name: 'cluster', value: 'prod', isRegex: false, isEqual: true },
    ]);
    expect(silence.createdBy).toBe('alice (U0ALICE01)');
    expect(silence.comment).toMatch(/^Snoozed from Slack for 3d: CalicoLicenseExpiringSoon/);
    const days = (Date.parse(silence.endsAt) - Date.parse(silence.startsAt)) / 86_400_000;
    expect(days).toBeCloseTo(3, 2);

    const reply = await waitFor(
      () => threadText(h, message).find((t) => t.includes('Snoozed by')),
      5000,
      'the reply',
    );
    expect(reply).toContain('Snoozed by <@U0ALICE01> for 3d until');
    expect(reply).toContain(silence.id);
    const updated = await messageWith(h, 'lm:unsnooze');
    expect(buttons(updated)).toEqual(['lm:ack', 'lm:unsnooze']);
    expect(JSON.stringify(updated.blocks)).toContain('Snoozed by <@U0ALICE01> for 3d');

    // Alertmanager suppresses the group: its alert is silenced by that silence and no notification
    // reaches the receiver for three repeat intervals.
    const alerts = (await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`)).json()) as {
      status: { state: string; silencedBy: string[] };
    }[];
    expect(alerts.map((a) => a.status)).toEqual([
      expect.objectContaining({ state: 'suppressed', silencedBy: [silence.id] }),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const silenced = await webhooks(h);
    await new Promise((r) => setTimeout(r, 6000));
    expect(await webhooks(h)).toBe(silenced);

    expect((await click(h, updated, 'lm:unsnooze')).status).toBe(200);
    await waitFor(
      async () => (await silences(amPort)).find((s) => s.id === silence.id)?.status.state === 'expired',
      10_000,
      'the silence expired',
    );
    const unsnoozed = await waitFor(
      () => threadText(h, message).find((t) => t.includes('Unsnoozed by')),
      5000,
      'reply',
    );
    expect(unsnoozed).toContain(`Unsnoozed by <@U0ALICE01>: silence \`${silence.id}\` expired`);
    await messageWith(h, 'lm:snooze:3d');
    // Notifications come again.
    await waitFor(async () => (await webhooks(h)) > silenced, 8000, 'notifications after the unsnooze');
    expect((await silences(amPort)).length).toBe(1);
  }, 60_000);

  it('Alertmanager down at the click: the user is told, the click is retried and makes one silence when it is up', async () => {
    const amPort = await freePort();
    const h = await startReceiver(amPort);
    // The receiver gets the alert from a webhook this time (no Alertmanager yet).
    const payload = {
      version: '4',
      groupKey: '{}:{alertname="CalicoLicenseExpiringSoon", cluster="prod"}',
      status: 'firing',
      receiver: 'license-receiver',
      groupLabels: GROUP_LABELS,
      commonLabels: { ...GROUP_LABELS, severity: 'warning' },
      commonAnnotations: {},
      externalURL: `http://127.0.0.1:${amPort}`,
      alerts: [
        {
          status: 'firing',
          labels: { ...GROUP_LABELS, severity: 'warning' },
          annotations: {},
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: 'aaaaaaaaaaaaaaaa',
        },
      ],
    };
    expect((await h.post(payload)).status).toBe(200);
    const message = await messageWith(h, 'lm:snooze:1d');
    expect((await click(h, message, 'lm:snooze:1d')).status).toBe(200);
    const told = await waitFor(
      () => h.slack.ephemeral.find((e) => e.user === ALICE.id),
      5000,
      'the user told',
    );
    expect(told.text).toMatch(/^Alertmanager could not snooze this alert: .*It is retried until/);
    expect(told.thread_ts).toBe(message.ts);
    // Retried, visible in the outbox meanwhile.
    await waitFor(
      async () =>
        (await h.receiver.store.list()).find((r) => r.channel === 'slack-interactions' && r.attempts >= 2),
      5000,
      'the click retried',
    );
    await startAlertmanager(tools, amPort, h.url);
    const made = await waitFor(
      async () => (await silences(amPort)).find((s) => s.status.state === 'active'),
      15_000,
      'the silence once Alertmanager is up',
    );
    expect(made.createdBy).toBe('alice (U0ALICE01)');
    await waitFor(() => threadText(h, message).find((t) => t.includes('Snoozed by')), 5000, 'the reply');
    await h.drained();
    expect((await silences(amPort)).length).toBe(1);
    expect(h.slack.ephemeral.length).toBe(1);
  }, 60_000);

  it('Slack fails after the silence was made: the retried click finds it and makes no second one', async () => {
    const amPort = await freePort();
    const h = await startReceiver(amPort);
    await startAlertmanager(tools, amPort, h.url);
    await fire(amPort);
    const message = await messageWith(h, 'lm:snooze:1d');
    h.slack.failNext({ status: 503 }, 2, 'chat.postMessage');
    expect((await click(h, message, 'lm:snooze:1d')).status).toBe(200);
    await waitFor(() => threadText(h, message).find((t) => t.includes('Snoozed by')), 10_000, 'the reply');
    await h.drained();
    const all = await silences(amPort);
    expect(all.length).toBe(1);
    expect(h.slack.callsOf('chat.postMessage').filter((c) => c.status === 503).length).toBe(2);
    expect(threadText(h, message).filter((t) => t.includes('Snoozed by')).length).toBe(1);
  }, 60_000);

  it('a user not in allowed_users is told so and nothing is silenced; Acknowledge shows who acknowledged', async () => {
    const amPort = await freePort();
    const h = await startReceiver(amPort, { allowed_users: [ALICE.id] });
    await startAlertmanager(tools, amPort, h.url);
    await fire(amPort);
    const message = await messageWith(h, 'lm:ack');
    expect((await click(h, message, 'lm:snooze:3d', MALLORY)).status).toBe(200);
    const refused = await waitFor(
      () => h.slack.ephemeral.find((e) => e.user === MALLORY.id),
      5000,
      'refusal',
    );
    expect(refused.text).toContain('You are not allowed to snooze this alert');
    await h.drained();
    expect(await silences(amPort)).toEqual([]);
    expect(threadText(h, message)).toEqual([]);

    expect((await click(h, message, 'lm:ack')).status).toBe(200);
    const acked = await waitFor(
      () => threadText(h, message).find((t) => t.includes('Acknowledged')),
      5000,
      'ack',
    );
    expect(acked).toBe('✅ Acknowledged by <@U0ALICE01>.');
    const updated = await waitFor(
      () => h.slack.roots().find((m) => JSON.stringify(m.blocks).includes('Acknowledged by <@U0ALICE01>')),
      5000,
      'the message showing the acknowledgement',
    );
    expect(buttons(updated)).toEqual(['lm:snooze:1d', 'lm:snooze:3d']);

    // The alert resolves: the message says so, keeps who acknowledged, and offers nothing to press.
    await fire(amPort, Date.now());
    const resolved = await waitFor(
      () => h.slack.roots().find((m) => m.updates.length >= 2 && buttons(m).length === 0),
      10_000,
      'the message of the resolved group',
    );
    expect(resolved.text).toMatch(/resolved/i);
    expect(JSON.stringify(resolved.blocks)).toContain('Acknowledged by <@U0ALICE01>');
  }, 60_000);

  it('a silence expired in Alertmanager: the next notification shows the snooze ended and offers Snooze again', async () => {
    const amPort = await freePort();
    const h = await startReceiver(amPort, {}, { dedupe_window: '1s' });
    await startAlertmanager(tools, amPort, h.url);
    await fire(amPort);
    const message = await messageWith(h, 'lm:snooze:1d');
    expect((await click(h, message, 'lm:snooze:1d')).status).toBe(200);
    await messageWith(h, 'lm:unsnooze');
    const [silence] = await silences(amPort);
    // Someone expires it in Alertmanager, not from Slack.
    const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/silence/${silence?.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const shown = await waitFor(
      () => h.slack.roots().find((m) => buttons(m).includes('lm:snooze:1d') && m.updates.length >= 2),
      10_000,
      'the message showing the snooze ended',
    );
    expect(JSON.stringify(shown.blocks)).toMatch(/Snooze ended/);
  }, 60_000);
});

/** A ticket system's fake: its channel config and env, and the comments of its only ticket. */
interface TicketFake {
  channel: Record<string, unknown>;
  env: Record<string, string>;
  comments(): string[];
  close(): Promise<void>;
}

const TICKET_FAKES: [string, () => Promise<TicketFake>][] = [
  [
    'Jira',
    async () => {
      const jira = await FakeJira.start();
      const channel = { name: 'tickets', type: 'jira', url: jira.url, api: 'cloud', project: 'LIC' };
      return {
        channel: { ...channel, email: jira.email, api_token_env: 'TICKET_TOKEN', search_lag: '0s' },
        env: { TICKET_TOKEN: jira.apiToken },
        comments: () => jira.comments(jira.issues()[0]?.key as string),
        close: () => jira.close(),
      };
    },
  ],
  [
    'ServiceNow',
    async () => {
      const sn = await FakeServiceNow.start();
      return {
        channel: {
          name: 'tickets',
          type: 'servicenow',
          url: sn.url,
          username: sn.username,
          password_env: 'TICKET_TOKEN',
        },
        env: { TICKET_TOKEN: sn.password },
        comments: () =>
          sn
            .journal(sn.incidents()[0]?.number as string)
            .filter((e) => e.field === 'work_notes')
            .map((e) => e.value),
        close: () => sn.close(),
      };
    },
  ],
  [
    'GitHub',
    async () => {
      const gh = await FakeGitHub.start();
      return {
        channel: {
          name: 'tickets',
          type: 'github',
          api_url: gh.url,
          repository: 'acme/licences',
          token_env: 'TICKET_TOKEN',
        },
        env: { TICKET_TOKEN: gh.token },
        comments: () => gh.comments(1),
        close: () => gh.close(),
      };
    },
  ],
];

describe.each(TICKET_FAKES)('Acknowledge with a %s ticket channel', (_name, startFake) => {
  it("comments on the group's open ticket who acknowledged, once", async () => {
    const fake = await startFake();
    cleanups.push(() => fake.close());
    const h = await startHarness({
      config: {
        slack_interactivity: {
          signing_secret_env: 'SLACK_SIGNING_SECRET',
          alertmanager_url: 'http://127.0.0.1:9',
        },
      },
      env: { SLACK_SIGNING_SECRET: SECRET, ...fake.env },
      moreChannels: [{ ...fake.channel, timeout: '2s' }],
    });
    expect((await h.post(fixture('firing'))).status).toBe(200);
    const message = await messageWith(h, 'lm:ack');
    await h.drained();
    const before = fake.comments().length;
    expect((await click(h, message, 'lm:ack')).status).toBe(200);
    await waitFor(() => threadText(h, message).find((t) => t.includes('Acknowledged')), 5000, 'the reply');
    await h.drained();
    const comments = fake.comments();
    expect(comments.length).toBe(before + 1);
    expect(comments.at(-1)?.trim()).toMatch(
      /^(\*\*|\*)?Acknowledged in Slack by alice \(U0ALICE01\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.(\*\*|\*)?$/,
    );
  }, 30_000);
});
