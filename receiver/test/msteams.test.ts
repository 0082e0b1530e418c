// The Teams channel: cards checked with Microsoft's adaptivecards library (parse and validateProperties)
// and Teams' 28 KB limit, then delivered through the receiver to the fake Workflows webhook, which
// answers as Power Automate does (202, 429 with Retry-After, 413, slow answers).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cardText, FakeTeams, TEAMS_MAX_BYTES, validateCard } from '../../test/fakes/teams-webhook.js';
import type { DeliveryEvent } from '../src/channels/channel.js';
import { bodyBytes, renderTeamsMessage, type TeamsMessage } from '../src/channels/msteams/render.js';
import { ConfigError, parseConfig } from '../src/config.js';
import type { DeliveryRecord } from '../src/outbox/plan.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture, hugeAnnotation, manyAlerts, RENDER_CASES } from './fixtures/payloads.js';
import { type Harness, startHarness } from './harness.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const OPTIONS = { maxAlerts: 10 };
const OPEN: DeliveryRecord = {
  state: 'open',
  ref: {},
  firing: ['a1b2c3d4e5f60718'],
  openedAt: NOW - 3_600_000,
  updatedAt: NOW - 3_600_000,
};

function event(body: unknown, record?: DeliveryRecord): DeliveryEvent {
  return plannedEvent(body, { record, now: NOW });
}
const cardOf = (message: TeamsMessage) => message.attachments[0]?.content;

describe('Teams card', () => {
  it.each(RENDER_CASES)(
    '%s: a valid Adaptive Card 1.5 in a Workflows message, within 28 KB',
    (_name, payload) => {
      for (const record of [undefined, OPEN]) {
        const message = renderTeamsMessage(event(payload(), record), OPTIONS);
        expect(message.type).toBe('message');
        expect(message.attachments).toHaveLength(1);
        expect(message.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
        expect(validateCard(cardOf(message))).toEqual([]);
        expect(bodyBytes(message)).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
      }
    },
  );

  it('shows the title with severity, the facts, the remediation, and the links as Action.OpenUrl', () => {
    const card = cardOf(renderTeamsMessage(event(fixture('firing')), OPTIONS));
    const text = cardText(card);
    expect(text.split('\n')[0]).toBe('🟠 FIRING:1 · warning · CalicoLicenseExpiringSoon · prod');
    expect(card?.body[0]).toMatchObject({ type: 'Container', style: 'warning' });
    for (const fact of ['Severity: warning', 'Cluster: prod']) expect(text).toContain(fact);
    expect(text).toContain('What to do (from the runbook CalicoLicenseExpiringSoon.md)');
    expect(text).toContain('1. Ask the contract owner to renew');
    expect(text).toContain('kubectl apply -f <customer>-license.yaml');
    expect(text).toContain('the licence docs (docs.tigera.io)');
    expect(card?.actions?.map((a) => [a.type, a.title])).toEqual([
      ['Action.OpenUrl', 'Runbook'],
      ['Action.OpenUrl', 'Graph'],
      ['Action.OpenUrl', 'Silence'],
    ]);
    expect(card?.actions?.[0]?.url).toBe('https://runbooks.example.com/CalicoLicenseExpiringSoon');
  });

  it('posts a resolved card on resolve (a Workflows webhook cannot edit the first one)', () => {
    const resolved = event(fixture('resolved'), OPEN);
    expect(resolved.kind).toBe('resolve');
    const card = cardOf(renderTeamsMessage(resolved, OPTIONS));
    const lines = cardText(card).split('\n');
    expect(lines[0]).toBe('✅ RESOLVED · warning · CalicoLicenseExpiringSoon · prod');
    expect(lines[1]).toBe('Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.');
    expect(card?.body[0]).toMatchObject({ style: 'good' });
    expect(lines[2]).toBe('Was: The Calico Enterprise licence expires in less than 30 days.');
    expect(cardText(card)).not.toMatch(/What (was )?to (be )?do/);
    expect(JSON.stringify(card)).not.toContain('silences/new');
  });

  it('keeps every text literal: no <at> mention, no Markdown link or emphasis from alert text', () => {
    const body = fixture('injection');
    const alerts = body.alerts as { labels: Record<string, string>; annotations: Record<string, string> }[];
    for (const a of alerts) {
      a.labels.owner = '<at>Everyone</at>';
      a.annotations.summary = '**Urgent** [click](https://evil.example) <at id="0">ops</at>';
    }
    body.commonLabels = { ...(body.commonLabels as object), owner: '<at>Everyone</at>' };
    body.commonAnnotations = { summary: alerts[0]?.annotations.summary };
    const card = cardOf(renderTeamsMessage(event(body), OPTIONS));
    const json = JSON.stringify(card);
    expect(json).not.toMatch(/<\/?at[\s>]/i);
    expect(json).not.toContain('"msteams":{"entities"');
    // TextBlock and Fact values would read Markdown: alert text only ever goes into TextRuns.
    expect(json).not.toContain('"TextBlock"');
    expect(json).not.toContain('"FactSet"');
    expect(cardText(card)).toContain(
      '**Urgent** [click](https://evil.example) <\u2060at id="0">ops</\u2060at>',
    );
  });

  it('a remediation link with other words shows its real host, and opens only that URL', () => {
    const body = fixture('firing');
    body.commonAnnotations = {
      ...(body.commonAnnotations as object),
      remediation: 'Renew at [totally safe](https://evil.example/renew), ~~not~~ **now**.',
    };
    const card = cardOf(renderTeamsMessage(event(body), OPTIONS));
    const json = JSON.stringify(card);
    expect(json).toContain(
      '{"type":"TextRun","text":"totally safe (evil.example)","selectAction":{"type":"Action.OpenUrl","url":"https://evil.example/renew"}}',
    );
    expect(json).toContain('{"type":"TextRun","text":"not","strikethrough":true}');
    expect(json).toContain('{"type":"TextRun","text":"now","weight":"Bolder"}');
  });

  it('fits 200 alerts and a 100 KB annotation into 28 KB, saying what it left out', () => {
    const many = renderTeamsMessage(event(manyAlerts(200)), { maxAlerts: 50 });
    expect(bodyBytes(many)).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
    expect(cardText(cardOf(many))).toMatch(/… and 1\d\d more \(200 in total; see Alertmanager\)/);
    const huge = renderTeamsMessage(event(hugeAnnotation(100 * 1024)), OPTIONS);
    expect(bodyBytes(huge)).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
    expect(cardText(cardOf(huge))).toContain('… (truncated)');
  });
});

describe('Teams config', () => {
  const load = (channel: Record<string, unknown>, env: Record<string, string> = {}, secrets = true) =>
    parseConfig(
      { channels: [{ name: 'teams', type: 'msteams', ...channel }], default_channels: ['teams'] },
      '/etc/receiver.yaml',
      { secrets, env },
    );
  const error = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('reads the webhook URL from the environment, and nothing for render', () => {
    const url = 'https://prod-01.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=s3cret';
    expect(load({ webhook_url_env: 'TEAMS_URL' }, { TEAMS_URL: url }).channels[0]).toMatchObject({
      type: 'msteams',
      webhookUrl: url,
      maxAlerts: 10,
      rateLimit: { perSecond: 1, burst: 3 },
      timeoutMs: 10_000,
    });
    expect(load({ webhook_url_env: 'TEAMS_URL' }, {}, false).channels[0]).toMatchObject({
      webhookUrl: undefined,
    });
  });

  it.each([
    [
      {},
      {},
      'channels[0].webhook_url_env: missing: expected channels[0].webhook_url_env or channels[0].webhook_url_file',
    ],
    [
      { webhook_url_env: 'TEAMS_URL' },
      { TEAMS_URL: 'https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z' },
      'channels[0].webhook_url_env: "TEAMS_URL" is not valid: expected a Teams Workflows webhook URL',
    ],
    [
      { webhook_url_env: 'TEAMS_URL' },
      { TEAMS_URL: 'not a url' },
      'channels[0].webhook_url_env: "TEAMS_URL" is not valid: expected a secret holding the http(s) URL',
    ],
    [
      { webhook_url_env: 'TEAMS_URL', mentions: {} },
      { TEAMS_URL: 'https://x.example/' },
      'channels[0].mentions: {} is not valid: unknown key',
    ],
  ])('%j with %j → %s', (channel, env, message) => {
    const text = error(() => load(channel, env));
    expect(text).toContain(message);
    expect(text).not.toContain('webhookb2'); // the URL is a secret: never in an error
  });
});

describe('Teams channel through the receiver', () => {
  let teams: FakeTeams;
  let h: Harness | undefined;
  beforeAll(async () => {
    teams = await FakeTeams.start();
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    teams.posts.length = 0;
    teams.cards.length = 0;
    teams.failedRuns.length = 0;
  });
  afterAll(() => teams.close());

  const start = (extra: Record<string, unknown> = {}) =>
    startHarness({
      channels: [
        {
          name: 'teams',
          type: 'msteams',
          webhook_url_env: 'TEAMS_WEBHOOK_URL',
          rate_limit: { per_second: 50, burst: 50 },
          ...extra,
        },
      ],
      env: { TEAMS_WEBHOOK_URL: teams.webhookUrl },
    });

  it('posts a card when the group fires and a resolved card when it resolves; 202 counts as delivered', async () => {
    h = await start();
    await h.post(fixture('firing'));
    await h.drained();
    await h.post(fixture('resolved'));
    await h.drained();
    expect(teams.posts.map((p) => p.status)).toEqual([202, 202]);
    expect(teams.failedRuns).toEqual([]);
    expect(teams.cards).toHaveLength(2);
    expect(cardText(teams.cards[0])).toContain('🟠 FIRING:1');
    expect(cardText(teams.cards[1])).toContain('✅ RESOLVED');
    expect(teams.posts[0]?.headers['content-type']).toBe('application/json');
    const metrics = await h.metrics();
    expect(
      metrics.value('license_receiver_notifications_sent_total', { channel: 'teams', kind: 'new' }),
    ).toBe(1);
  });

  it('retries a 503 and honours the Retry-After of a 429', async () => {
    h = await start();
    teams.failNext({ status: 503 });
    teams.failNext({ status: 429, retryAfter: 1 });
    await h.post(fixture('firing'));
    await h.drained(6000);
    expect(teams.posts.map((p) => p.status)).toEqual([503, 429, 202]);
    expect((teams.posts[2]?.at ?? 0) - (teams.posts[1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(teams.cards).toHaveLength(1);
  });

  it('retries a slow answer that timed out, and dead-letters a 413 without retrying or naming the URL', async () => {
    h = await start({ timeout: '300ms' });
    teams.failNext({ delayMs: 1000 });
    await h.post(fixture('firing'));
    await h.drained(6000);
    expect(teams.posts.length).toBeGreaterThanOrEqual(2); // at least once: the first may have been posted too
    expect(teams.posts.at(-1)?.status).toBe(202);

    teams.failNext({ status: 413 });
    await h.post(fixture('mixed'));
    await h.drained();
    const dead = await h.receiver.store.dead();
    expect(dead).toHaveLength(1);
    expect(dead[0]?.error).toContain('Teams answered HTTP 413 to POST <workflows webhook>');
    expect(dead[0]?.error).not.toContain('sig=');
    expect(teams.posts.filter((p) => p.status === 413)).toHaveLength(1);
  });
});
