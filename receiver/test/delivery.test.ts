// The whole pipeline in one process against real peers: webhook → outbox → delivery loop → fake Slack
// Web API and a real SMTP server. Idempotency, threading, updates and faults.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { visibleText } from '../../test/fakes/slack-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { fixture, since, withAlerts } from './fixtures/payloads.js';
import { cleanupPki, type Harness, type HarnessOptions, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});
afterAll(() => cleanupPki());

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

type Json = Record<string, unknown>;
const alertsOf = (p: Json) => p.alerts as Json[];

describe('idempotency and threading', () => {
  it('posts the same payload sent twice at once (an HA pair) once to Slack and once by email', async () => {
    const { post, slack, smtp, metrics, drained } = await start();
    const body = fixture('firing');
    const answers = await Promise.all([post(body), post(body)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const outcomes = (
      await Promise.all(answers.map((r) => r.json() as Promise<{ destinations: { outcome: string }[] }>))
    )
      .flatMap((a) => a.destinations.map((d) => d.outcome))
      .sort();
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'queued', 'queued']);
    await waitFor(
      () => smtp.mails.length === 1 && slack.roots().length === 1,
      5000,
      'one Slack message and one mail',
    );
    await drained();
    await new Promise((r) => setTimeout(r, 200)); // nothing else arrives
    expect(slack.messages).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const m = await metrics();
    expect(
      m.value('license_receiver_notifications_deduplicated_total', { channel: 'slack', stage: 'intake' }),
    ).toBe(1);
    expect(
      m.value('license_receiver_notifications_deduplicated_total', { channel: 'mail', stage: 'intake' }),
    ).toBe(1);
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'slack', kind: 'new' })).toBe(1);
  });

  it('turns a repeat into a reminder in the thread, not a new message', async () => {
    const { post, slack, smtp, drained } = await start({ config: { dedupe_window: '300ms' } });
    const body = fixture('firing');
    expect((await post(body)).status).toBe(200);
    await drained();
    await post(body); // an HA twin within the window: dropped
    await new Promise((r) => setTimeout(r, 350));
    expect((await post({ ...body, notification_reason: 'repeat interval elapsed' })).status).toBe(200);
    await waitFor(() => slack.messages.length === 2 && smtp.mails.length === 2, 5000, 'the reminder');
    const [root] = slack.roots();
    expect(slack.roots()).toHaveLength(1);
    const replies = slack.replies(root as NonNullable<typeof root>);
    expect(replies).toHaveLength(1);
    expect(visibleText(replies[0] as NonNullable<(typeof replies)[0]>)).toMatch(
      /^Still firing: 1 alert since 2026-11-28 08:00 UTC/,
    );
    const [first, reminder] = smtp.mails;
    expect(reminder?.parsed.inReplyTo).toBe(first?.parsed.messageId);
    expect(reminder?.parsed.subject).toBe(first?.parsed.subject);
    expect(reminder?.parsed.text).toMatch(/^Still firing/);
  });

  it('edits the message as alerts join and resolve, and says so in the thread; email replies to the first mail', async () => {
    const { post, slack, smtp, drained, metrics } = await start();
    const mixed = fixture('mixed');
    const [a, b, c] = alertsOf(mixed) as [Json, Json, Json];
    const firing = (x: Json) => ({ ...x, status: 'firing', endsAt: '0001-01-01T00:00:00Z' });
    const resolved = (x: Json) => ({ ...x, status: 'resolved', endsAt: '2026-11-28T11:00:00Z' });

    await post({ ...mixed, alerts: [a, firing(c)] });
    await drained();
    await post({ ...mixed, alerts: [a, b, firing(c)], notification_reason: 'new alerts added' });
    await drained();
    await post({
      ...mixed,
      alerts: [resolved(a), resolved(b), resolved(c)],
      status: 'resolved',
      notification_reason: 'all alerts resolved',
    });
    await drained();

    const roots = slack.roots();
    expect(roots).toHaveLength(1);
    const root = roots[0] as NonNullable<(typeof roots)[0]>;
    expect(root.updates).toHaveLength(2); // joined, then resolved
    expect(visibleText(root.updates[0] as never)).toContain('FIRING:3');
    expect(visibleText(root)).toContain('✅ RESOLVED · CalicoLicenseNodesNearCapacity · staging');
    const replies = slack.replies(root).map((r) => visibleText(r));
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatch(/^Update: 1 new alert firing, 3 firing now\./);
    expect(replies[0]).toContain('nodepool=pool-b');
    expect(replies[1]).toBe('Resolved at 2026-11-28 11:00 UTC after firing for 3h.');
    // chat.update addressed the channel ID and ts chat.postMessage answered.
    expect(
      slack.callsOf('chat.update').every((c) => c.ok && c.channel === slack.channelId('#platform-alerts')),
    ).toBe(true);

    expect(smtp.mails).toHaveLength(3);
    const [first, second, third] = smtp.mails.map((m) => m.parsed);
    // The update keeps the first subject; the resolve says RESOLVED, still a reply to the first mail.
    expect(smtp.mails.map((m) => m.parsed.subject)).toEqual([
      '[FIRING:2] CalicoLicenseNodesNearCapacity cluster=staging',
      '[FIRING:2] CalicoLicenseNodesNearCapacity cluster=staging',
      '[RESOLVED] CalicoLicenseNodesNearCapacity cluster=staging',
    ]);
    for (const later of [second, third]) {
      expect(later?.inReplyTo).toBe(first?.messageId);
      expect(later?.references).toBe(first?.messageId);
    }
    // One conversation for Outlook too: one Thread-Topic, and each reply's Thread-Index extends the first's.
    const header = (m: (typeof smtp.mails)[0], name: string) => String(m.parsed.headers.get(name));
    expect(new Set(smtp.mails.map((m) => header(m, 'thread-topic')))).toEqual(
      new Set(['CalicoLicenseNodesNearCapacity cluster=staging']),
    );
    const indexes = smtp.mails.map((m) => Buffer.from(header(m, 'thread-index'), 'base64'));
    expect(indexes.map((i) => i.length)).toEqual([22, 27, 27]);
    for (const reply of indexes.slice(1)) expect(reply.subarray(0, 22)).toEqual(indexes[0]);
    expect(third?.text).toMatch(
      /^\[RESOLVED\] CalicoLicenseNodesNearCapacity cluster=staging\nResolved at 2026-11-28 11:00 UTC after firing for 3h\.\n/,
    );
    expect(third?.text).not.toContain('What to do');
    const m = await metrics();
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'slack', kind: 'update' })).toBe(
      1,
    );
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'slack', kind: 'resolve' })).toBe(
      1,
    );
  });

  it('starts a new message when a resolved group fires again', async () => {
    const { post, slack, smtp, drained } = await start();
    await post(fixture('firing'));
    await drained();
    await post(fixture('resolved'));
    await drained();
    await post(since('firing', '2026-11-29T08:00:00Z'));
    await drained();
    expect(slack.roots()).toHaveLength(2);
    expect(smtp.mails).toHaveLength(3);
    expect(smtp.mails[2]?.parsed.inReplyTo).toBeUndefined();
  });

  it("drops a late retry of the firing that arrives after the group's resolve (an HA peer retrying a replica that was down)", async () => {
    const { post, slack, smtp, metrics, drained } = await start();
    await post(fixture('firing'));
    await drained();
    await post(fixture('resolved'));
    await drained();
    const late = await post(fixture('firing'));
    expect(late.status).toBe(200);
    expect(
      ((await late.json()) as { destinations: { outcome: string }[] }).destinations.map((d) => d.outcome),
    ).toEqual(['stale', 'stale']);
    await drained();
    await new Promise((r) => setTimeout(r, 200)); // nothing else arrives
    expect(slack.roots()).toHaveLength(1);
    expect(visibleText(slack.roots()[0] as never)).toContain('✅ RESOLVED');
    expect(smtp.mails).toHaveLength(2);
    const m = await metrics();
    expect(
      m.value('license_receiver_notifications_deduplicated_total', { channel: 'slack', stage: 'stale' }),
    ).toBe(1);
  });
});

describe('faults', () => {
  it('Slack 429 then success: delivered once, not before Retry-After', async () => {
    const { post, slack, metrics, drained } = await start();
    slack.failNext({ status: 429, retryAfter: 1 }, 1, 'chat.postMessage');
    await post(fixture('firing'));
    await drained(5000);
    const calls = slack.callsOf('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(slack.messages).toHaveLength(1);
    const m = await metrics();
    expect(m.value('license_receiver_rate_limited_total', { channel: 'slack' })).toBe(1);
    expect(m.value('license_receiver_notifications_retried_total', { channel: 'slack' })).toBe(1);
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'slack', kind: 'new' })).toBe(1);
  });

  it('Slack 500 twice then success: retried with backoff, delivered once', async () => {
    const { post, slack, metrics, drained } = await start();
    slack.failNext({ status: 500 }, 2, 'chat.postMessage');
    await post(fixture('firing'));
    await drained();
    expect(slack.callsOf('chat.postMessage').map((c) => c.status)).toEqual([500, 500, 200]);
    expect(slack.messages).toHaveLength(1);
    expect(
      (await metrics()).value('license_receiver_notifications_failed_total', {
        channel: 'slack',
        class: 'retryable',
      }),
    ).toBe(2);
  });

  it('a permanent Slack error is dead-lettered, visible in metrics; other destinations still get it', async () => {
    const { post, slack, smtp, metrics, receiver } = await start();
    slack.failNext({ error: 'channel_not_found' });
    await post(fixture('firing'));
    await waitFor(
      async () => (await receiver.store.dead()).length === 1 && smtp.mails.length === 1,
      5000,
      'dead row',
    );
    expect((await receiver.store.dead())[0]?.error).toBe('Slack answered channel_not_found');
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    const m = await metrics();
    expect(m.value('license_receiver_notifications_dead_lettered_total', { channel: 'slack' })).toBe(1);
    expect(m.value('license_receiver_outbox_rows', { channel: 'slack', state: 'dead' })).toBe(1);
    expect(
      m.value('license_receiver_notifications_failed_total', { channel: 'slack', class: 'permanent' }),
    ).toBe(1);
  });

  it('dead-letters a row still failing after delivery.max_age', async () => {
    const { post, slack, receiver } = await start({
      config: {
        delivery: { poll_interval: '20ms', backoff: { initial: '50ms', max: '100ms' }, max_age: '400ms' },
      },
      channels: [
        {
          name: 'slack',
          type: 'slack',
          token_env: 'SLACK_BOT_TOKEN',
          channel: '#c',
          api_url: 'http://127.0.0.1:9/api/',
          timeout: '1s',
        },
      ],
    });
    void slack;
    await post(fixture('firing'));
    await waitFor(async () => (await receiver.store.dead()).length === 1, 5000, 'dead row');
    const [dead] = await receiver.store.dead();
    // The first attempt's error; later attempts fail looking up whether the first was posted.
    expect(dead?.error).toMatch(/^older than delivery.max_age; last error: .*Slack request failed/);
    expect(dead?.attempts).toBeGreaterThan(1);
  });

  it('SMTP down, then back: delivered once', async () => {
    const { post, smtp, metrics, drained } = await start({ channels: undefined });
    await smtp.down();
    await post(fixture('firing'));
    await waitFor(
      async () =>
        ((await metrics()).value('license_receiver_notifications_failed_total', {
          channel: 'mail',
          class: 'retryable',
        }) ?? 0) >= 2,
      5000,
      'failed attempts while SMTP is down',
    );
    expect(smtp.mails).toHaveLength(0);
    await smtp.up();
    await drained(5000);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]?.secure).toBe(true); // STARTTLS, certificate verified against the test CA
  });

  it('SMTP 4xx is retried, 5xx is permanent', async () => {
    const { post, smtp, receiver, drained } = await start();
    smtp.rejectNext(451, 'Temporary local problem');
    await post(fixture('firing'));
    await drained();
    expect(smtp.mails).toHaveLength(1);
    smtp.rejectNext(550, 'Mailbox unavailable');
    await post(fixture('resolved'));
    await waitFor(
      async () => (await receiver.store.dead()).some((d) => d.channel === 'mail'),
      5000,
      'dead mail',
    );
    expect((await receiver.store.dead())[0]?.error).toContain('550');
  });

  it('refuses to send without STARTTLS when require_tls is on (the default)', async () => {
    const { post, smtp, receiver } = await start({ smtp: { starttls: false } });
    await post(fixture('firing'));
    await waitFor(
      async () => (await receiver.store.dead()).some((d) => d.channel === 'mail'),
      5000,
      'dead mail',
    );
    expect(smtp.mails).toHaveLength(0);
    expect((await receiver.store.dead()).find((d) => d.channel === 'mail')?.error).toMatch(/STARTTLS|TLS/i);
  });

  it('authenticates to SMTP when configured', async () => {
    const { post, smtp, drained } = await start({
      smtp: { auth: { user: 'alerts', pass: 'smtp-pass' } },
      smtpConfig: { username: 'alerts', password_env: 'SMTP_PASS' },
    });
    await post(fixture('firing'));
    await drained();
    expect(smtp.mails[0]?.user).toBe('alerts');
  });
});

describe('rate limits', () => {
  it('keeps within the per-destination rate: no 429 from Slack, all delivered', async () => {
    const { post, slack, drained } = await start({
      slack: { rateLimit: { perSecond: 5, burst: 3 } },
      slackConfig: { rate_limit: { per_second: 5, burst: 2 } },
    });
    const base = fixture('firing');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post({ ...base, groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster: `c${i}` } }),
      ),
    );
    await drained(10_000);
    expect(slack.roots()).toHaveLength(8);
    expect(slack.rateLimitedByLimit).toBe(0);
    const times = slack.callsOf('chat.postMessage').map((c) => c.at);
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(900); // 8 at 5/s after a burst of 2
  });
});

describe('Slack incoming webhook mode', () => {
  it('posts a new message each time (no edit, no thread)', async () => {
    const { post, slack, drained } = await start({
      channels: [{ name: 'hook', type: 'slack', webhook_url_env: 'SLACK_WEBHOOK_URL' }],
    });
    await post(fixture('firing'));
    await drained();
    await post(fixture('resolved'));
    await drained();
    expect(slack.webhookPosts).toHaveLength(2);
    expect(slack.calls.every((c) => c.method === 'webhook')).toBe(true);
    expect(visibleText(slack.webhookPosts[1] as never)).toContain(
      'Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.',
    );
    expect(visibleText(slack.webhookPosts[1] as never)).toContain('✅ RESOLVED');
  });

  it('retries a webhook 503 and honours its Retry-After on 429', async () => {
    const { post, slack, drained } = await start({
      channels: [{ name: 'hook', type: 'slack', webhook_url_env: 'SLACK_WEBHOOK_URL' }],
    });
    slack.failNext({ status: 503 }, 1, 'webhook');
    slack.failNext({ status: 429, retryAfter: 1 }, 1, 'webhook');
    await post(fixture('firing'));
    await drained(5000);
    const calls = slack.callsOf('webhook');
    expect(calls.map((c) => c.status)).toEqual([503, 429, 200]);
    expect((calls[2]?.at ?? 0) - (calls[1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(slack.webhookPosts).toHaveLength(1);
  });
});

describe('joining alerts', () => {
  it('a group growing from 1 to 200 alerts stays one Slack message', async () => {
    const { post, slack, drained } = await start();
    const one = fixture('firing');
    const extra = Array.from({ length: 199 }, (_, i) => ({
      ...(alertsOf(one)[0] as Json),
      labels: { ...((alertsOf(one)[0] as Json).labels as Json), node: `n${i}` },
      fingerprint: `x${String(i).padStart(15, '0')}`,
    }));
    await post(one);
    await drained();
    await post(withAlerts(one, extra));
    await drained();
    expect(slack.roots()).toHaveLength(1);
    expect(visibleText(slack.roots()[0] as never)).toContain('FIRING:200');
    expect(visibleText(slack.replies(slack.roots()[0] as never)[0] as never)).toContain(
      'Update: 199 new alerts firing',
    );
  });
});
