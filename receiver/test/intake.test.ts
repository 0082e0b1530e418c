// The webhook intake over HTTP: every payload fixture with its expected outcome (answer, Slack message,
// email), authentication, limits, and the answers Alertmanager acts on (never 429).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleText } from '../../test/fakes/slack-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { fixture, hugeAnnotation, manyAlerts } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness, TOKEN } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
  cleanupPki();
});

type Outcome =
  | { status: 400; field: string }
  | {
      status: 200;
      /** Text the Slack message must show (after escaping). */
      slack: (string | RegExp)[];
      /** Text that must not appear anywhere in the Slack request. */
      slackNot?: string[];
      subject: string;
      mail?: (string | RegExp)[];
      mailNot?: string[];
    };

const CASES: [string, () => unknown, Outcome][] = [
  [
    'firing',
    () => fixture('firing'),
    {
      status: 200,
      slack: ['🟠 FIRING:1 · CalicoLicenseExpiringSoon · prod', '*Severity*\nwarning', 'What to do'],
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod',
      mail: ['Severity: warning', 'Ask the contract owner', 'Ask the <strong>contract owner</strong>'],
    },
  ],
  [
    'resolved',
    () => fixture('resolved'),
    {
      status: 200,
      slack: ['✅ RESOLVED · CalicoLicenseExpiringSoon · prod', '*Fired for*\n2h 30m'],
      subject: '[RESOLVED] CalicoLicenseExpiringSoon cluster=prod',
      mail: ['Fired for: 2h 30m'],
    },
  ],
  [
    'mixed',
    () => fixture('mixed'),
    {
      status: 200,
      slack: [
        'FIRING:2 · CalicoLicenseNodesNearCapacity · staging',
        '*Alerts* (2 firing, 1 resolved)',
        'nodepool=pool-c',
      ],
      subject: '[FIRING:2] CalicoLicenseNodesNearCapacity cluster=staging',
      mail: ['Alerts (2 firing, 1 resolved):', '[resolved] nodepool=pool-c'],
    },
  ],
  [
    'truncatedAlerts > 0',
    () => fixture('truncated'),
    {
      status: 200,
      slack: ['… and 7 more left out by Alertmanager (max_alerts): 10 in the group'],
      subject: '[FIRING:3] CalicoLicenseNodesOverCapacity cluster=prod',
      mail: ['7 more alerts left out by Alertmanager (max_alerts)'],
    },
  ],
  [
    '200 alerts',
    () => manyAlerts(200),
    {
      status: 200,
      slack: ['FIRING:200', '… and 190 more (200 in total; see Alertmanager)'],
      subject: '[FIRING:200] CalicoLicenseNodesOverCapacity cluster=prod',
      mail: ['- … and 150 more (200 in total)'],
    },
  ],
  [
    'unicode',
    () => fixture('unicode'),
    {
      status: 200,
      slack: [
        '生产-東京 🚀',
        'Лицензия истекает через 12 дней — ライセンス期限 ⚠️',
        '👩‍👩‍👧‍👦',
        'team=עברית-צוות',
      ],
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=生产-東京 🚀',
      mail: ['𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'e\u0301'],
    },
  ],
  [
    '100 KB annotation',
    () => hugeAnnotation(100 * 1024),
    {
      status: 200,
      slack: [/… \(truncated\)/],
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod',
      mail: ['… (truncated)'],
    },
  ],
  [
    '<!channel> in labels and annotations',
    () => fixture('channel-mention'),
    {
      status: 200,
      slack: [
        '&lt;!channel&gt;',
        '&lt;@U0123ABCD&gt; &lt;!here&gt;',
        'Call &lt;!channel&gt; now &amp; &lt;b&gt;panic&lt;/b&gt;',
      ],
      slackNot: ['<!channel>', '<!here>', '<!everyone>', '<@U0123ABCD>', '<!subteam^S123', '<https://evil'],
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=<!channel>',
      mail: ['Call <!channel> now & <b>panic</b>'],
    },
  ],
  [
    'HTML and CRLF injection in labels',
    () => fixture('injection'),
    {
      status: 200,
      slack: ["&lt;script&gt;alert('x')&lt;/script&gt;"],
      slackNot: ['<script>'],
      subject:
        '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod Bcc: attacker@evil.example.com X-Injected: yes',
      mail: ['&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;'],
      mailNot: ['<script>', '<img src=x', 'href="javascript:'],
    },
  ],
  [
    'unknown extra fields',
    () => fixture('unknown-fields'),
    {
      status: 200,
      slack: ['FIRING:1 · CalicoLicenseExpiringSoon · prod'],
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod',
    },
  ],
  ['missing required fields', () => fixture('missing-field'), { status: 400, field: 'alerts[0].startsAt' }],
  ['wrong types', () => fixture('wrong-types'), { status: 400, field: 'alerts[0].labels.severity' }],
  ['empty alerts', () => fixture('empty-alerts'), { status: 400, field: 'alerts' }],
];

describe('payload fixtures through the whole pipeline', () => {
  it.each(CASES)('%s', async (name, payload, expected) => {
    // Each case is its own group: /webhook/<receiver> sets the receiver, part of the group identity.
    const receiver = name.replace(/[^a-z0-9]+/gi, '-');
    const mailsBefore = h.smtp.mails.length;
    const rootsBefore = h.slack.roots().length;
    const res = await h.post(payload(), { path: `/webhook/${receiver}` });
    expect(res.status).toBe(expected.status);
    const body = (await res.json()) as { field?: string; error: string; group?: string };
    if (expected.status === 400) {
      expect(body.field).toBe(expected.field);
      expect(body.error).toContain(expected.field);
      return;
    }
    expect(body.group?.startsWith(receiver)).toBe(true);
    await waitFor(
      () => h.slack.roots().length > rootsBefore && h.smtp.mails.length > mailsBefore,
      5000,
      'delivery',
    );
    const message = h.slack.roots().at(-1) as NonNullable<ReturnType<typeof h.slack.roots>[0]>;
    const shown = visibleText(message);
    for (const text of expected.slack)
      expect(shown).toMatch(typeof text === 'string' ? new RegExp(escapeRe(text)) : text);
    const wire = JSON.stringify(message);
    for (const text of expected.slackNot ?? []) expect(wire).not.toContain(text);

    const mail = h.smtp.mails.at(-1) as NonNullable<(typeof h.smtp.mails)[0]>;
    expect(mail.parsed.subject).toBe(expected.subject);
    expect(mail.parsed.to && 'text' in mail.parsed.to ? mail.parsed.to.text : '').toBe(
      'licensing@example.com',
    );
    expect(mail.parsed.cc).toBeUndefined();
    expect(mail.parsed.bcc).toBeUndefined();
    expect(mail.parsed.headers.has('x-injected')).toBe(false);
    expect(mail.envelope.to).toEqual(['licensing@example.com']);
    for (const text of expected.mail ?? []) {
      const inText =
        typeof text === 'string'
          ? (mail.parsed.text ?? '').includes(text)
          : text.test(mail.parsed.text ?? '');
      const inHtml =
        typeof text === 'string'
          ? String(mail.parsed.html).includes(text)
          : text.test(String(mail.parsed.html));
      expect(inText || inHtml, `${JSON.stringify(text)} in the mail`).toBe(true);
    }
    for (const text of expected.mailNot ?? []) expect(String(mail.parsed.html)).not.toContain(text);
  });
});

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('answers Alertmanager acts on', () => {
  it('401 without the right bearer token, checked before the body is read', async () => {
    for (const headers of [
      { Authorization: '' },
      { Authorization: 'Bearer wrong' },
      { Authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
    ]) {
      const res = await h.post(fixture('firing'), { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="license-receiver"');
    }
    const huge = await h.post(null, {
      headers: { Authorization: 'Bearer wrong' },
      raw: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(401);
  });

  it('415 for a body that is not JSON, 400 for broken JSON, 413 over the body limit', async () => {
    expect((await h.post(null, { raw: 'alert!', headers: { 'Content-Type': 'text/plain' } })).status).toBe(
      415,
    );
    const broken = await h.post(null, { raw: '{"alerts": [' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/^invalid JSON/);
    const big = await h.post(null, { raw: JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toContain('at most 1048576 bytes');
  });

  it('405 for other methods; health and readiness', async () => {
    expect((await fetch(`${h.url}/webhook`)).status).toBe(405);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${h.url}/nothing`)).status).toBe(404);
  });

  it('counts webhook answers by code', async () => {
    const m = await h.metrics();
    expect(m.value('license_receiver_webhook_requests_total', { code: '200' })).toBeGreaterThanOrEqual(10);
    expect(m.value('license_receiver_webhook_requests_total', { code: '400' })).toBeGreaterThanOrEqual(4);
    expect(m.value('license_receiver_webhook_requests_total', { code: '401' })).toBeGreaterThanOrEqual(3);
    expect(m.value('license_receiver_webhook_requests_total', { code: '413' })).toBe(1);
    expect(m.value('license_receiver_webhook_requests_total', { code: '415' })).toBe(1);
    expect(m.samples('license_receiver_webhook_requests_total').some((s) => s.labels.code === '429')).toBe(
      false,
    );
    expect(m.type('license_receiver_delivery_latency_seconds')).toBe('HISTOGRAM');
    expect(m.value('license_receiver_outbox_oldest_age_seconds', { channel: 'slack' })).toBe(0);
  });
});

describe('basic auth and a broken store', () => {
  it('takes basic auth as Alertmanager sends it, compared in constant time', async () => {
    const b = await startHarness({
      config: { auth: { basic_auth: { username: 'alertmanager', password_env: 'WEBHOOK_TOKEN' } } },
    });
    try {
      const basic = (user: string, pass: string) => ({
        Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
      });
      expect((await b.post(fixture('firing'), { headers: basic('alertmanager', TOKEN) })).status).toBe(200);
      expect((await b.post(fixture('firing'), { headers: basic('alertmanager', 'nope') })).status).toBe(401);
      expect((await b.post(fixture('firing'), { headers: basic('other', TOKEN) })).status).toBe(401);
      expect((await b.post(fixture('firing'))).status).toBe(401); // a bearer token is not basic auth
    } finally {
      await b.stop();
    }
  });

  it('503 (which Alertmanager retries) when the outbox cannot be written, and not ready', async () => {
    const b = await startHarness();
    try {
      await b.receiver.store.close();
      const res = await b.post(fixture('firing'));
      expect(res.status).toBe(503);
      expect((await fetch(`${b.url}/readyz`)).status).toBe(503);
    } finally {
      await b.stop();
    }
  });
});
