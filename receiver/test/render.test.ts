// Rendering is pure: payload fixtures → Block Kit and email, checked against Slack's limits by the
// fake Slack's own checker (written from Slack's documentation, not from the renderer).
import { describe, expect, it } from 'vitest';
import { checkBlocks, visibleText } from '../../test/fakes/slack-api.js';
import { fromMarkdown } from '../src/channels/doc.js';
import { escapeHtml, headerValue, renderEmail, toHtml } from '../src/channels/email/render.js';
import { escapeMrkdwn, toMrkdwn } from '../src/channels/slack/mrkdwn.js';
import { renderSlackMessage, renderSlackReply, SLACK_LIMITS } from '../src/channels/slack/render.js';
import { truncate } from '../src/channels/text.js';
import type { DeliveryEvent, DeliveryRecord } from '../src/outbox/plan.js';
import { groupViewOf, plannedEvent } from './fixtures/events.js';
import {
  fixture,
  hugeAnnotation,
  manyAlerts,
  RENDER_CASES,
  ruleAlert,
  withAlerts,
} from './fixtures/payloads.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const slackOptions = { maxAlerts: 10, mentions: { critical: '<!subteam^S0ONCALL>' } };
const emailOptions = {
  from: 'Alerts <alerts@example.com>',
  to: ['ops@example.com'],
  cc: [],
  maxAlerts: 50,
  maxValue: 20_000,
};

const _view = groupViewOf;

function event(body: unknown, record?: DeliveryRecord, reminder = false): DeliveryEvent {
  return plannedEvent(body, { record, reminder, now: NOW });
}

const generated = RENDER_CASES;

describe('Slack Block Kit', () => {
  it.each(generated)('%s: within Slack limits, with a text fallback', (_name, payload) => {
    const message = renderSlackMessage(event(payload()), slackOptions);
    expect(checkBlocks(message.blocks)).toBeUndefined();
    expect(message.text.length).toBeGreaterThan(0);
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    const reply = renderSlackReply(
      event(payload(), { state: 'open', ref: {}, firing: [], openedAt: NOW - 1, updatedAt: NOW - 1 }),
      slackOptions,
    );
    expect(checkBlocks(reply.blocks)).toBeUndefined();
  });

  it('shows status, alert name and cluster in the header; severity, start and licence facts as fields', () => {
    const message = renderSlackMessage(event(fixture('firing')), slackOptions);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '🟠 FIRING:1 · CalicoLicenseExpiringSoon · prod', emoji: true },
    });
    const fields = (message.blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields).toEqual([
      '*Severity*\nwarning',
      '*Cluster*\nprod',
      '*Started*\n<!date^1795852800^{date_short_pretty} {time}|2026-11-28 08:00 UTC>',
    ]);
    expect(message.text).toBe(
      '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.',
    );
  });

  it("shows the rule's licence facts as fields, times in the reader's zone", () => {
    const payload = ruleAlert('agent/CalicoLicenseExpiryCritical');
    const message = renderSlackMessage(
      plannedEvent(payload, { now: Date.parse('2026-11-10T06:00:00Z') }),
      slackOptions,
    );
    const fields = (message.blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields.slice(3)).toEqual([
      '*Expires*\n<!date^1794880800^{date_short_pretty} {time}|2026-11-17 02:00 UTC> (6 days left)',
      '*Grace period ends*\n<!date^1797472800^{date_short_pretty} {time}|2026-12-17 02:00 UTC>',
    ]);
    const cores = ruleAlert('agent/CalicoLicenseCoresCapacityForecast');
    const coreFields = (
      renderSlackMessage(plannedEvent(cores, { now: Date.parse('2026-11-20T00:00:00Z') }), slackOptions)
        .blocks[1] as {
        fields: { text: string }[];
      }
    ).fields.map((f) => f.text);
    expect(coreFields.slice(3)).toEqual([
      expect.stringMatching(/^\*CPU cores\*\n\d+ used of \d+ licensed$/),
      expect.stringMatching(/^\*CPU cores forecast\*\n\d+ at the peak of the forecast$/),
    ]);
  });

  it('quotes the runbook Mitigation section, with link buttons for runbook, graph and silence', () => {
    const message = renderSlackMessage(event(fixture('firing')), slackOptions);
    const text = visibleText(message);
    expect(text).toContain('*What to do* (from the runbook CalicoLicenseExpiringSoon.md)');
    expect(text).toContain('Ask the *contract owner* to renew');
    expect(text).toContain('kubectl apply -f &lt;customer&gt;-license.yaml');
    expect(text).toContain(
      '<https://docs.tigera.io/calico-enterprise/latest/operations/license-options|the licence docs (docs.tigera.io)> &amp; check',
    );
    expect(text).toContain('*Escalation*');
    expect(text).not.toContain('Nothing here belongs'); // the next section is not quoted
    const actions = message.blocks.find((b) => b.type === 'actions') as {
      elements: { text: { text: string }; url: string }[];
    };
    expect(actions.elements.map((e) => e.text.text)).toEqual(['Runbook', 'Graph', 'Silence']);
    expect(actions.elements[2]?.url).toBe(
      `http://alertmanager.example.com:9093/#/silences/new?filter=${encodeURIComponent(
        '{alertname="CalicoLicenseExpiringSoon",cluster="prod",package="Enterprise",severity="warning"}',
      )}`,
    );
  });

  it('escapes & < > in every label and annotation: <!channel> in a label pings no one', () => {
    const message = renderSlackMessage(event(fixture('channel-mention')), slackOptions);
    const json = JSON.stringify(message);
    for (const control of [
      '<!channel>',
      '<!here>',
      '<!everyone>',
      '<@U0123ABCD>',
      '<!subteam^S123',
      '<https://evil',
    ])
      expect(json).not.toContain(control);
    expect(visibleText(message)).toContain('&lt;!channel&gt;');
    expect(visibleText(message)).toContain('Call &lt;!channel&gt; now &amp; &lt;b&gt;panic&lt;/b&gt;');
    // The only mention is the configured one, for a critical alert.
    expect(json.match(/<!subteam\^S0ONCALL>/g)).toHaveLength(1);
    expect(
      renderSlackMessage(event(fixture('firing')), slackOptions).blocks.some((b) =>
        JSON.stringify(b).includes('<!subteam'),
      ),
    ).toBe(false);
  });

  it('renders 200 alerts as a summary and the first few, saying how many are left out', () => {
    const message = renderSlackMessage(event(manyAlerts(200)), slackOptions);
    const text = visibleText(message);
    expect(message.blocks[0]?.type === 'header' && message.blocks[0].text.text).toBe(
      '🟠 FIRING:200 · CalicoLicenseNodesOverCapacity · prod',
    );
    expect(text).toContain('*Alerts* (200 firing, 0 resolved)');
    expect(text.match(/node=node-\d{3}/g)).toHaveLength(10);
    expect(text).toContain('… and 190 more (200 in total; see Alertmanager)');
  });

  it('says when Alertmanager left alerts out (truncatedAlerts)', () => {
    const text = visibleText(renderSlackMessage(event(fixture('truncated')), slackOptions));
    expect(text).toContain('… and 7 more left out by Alertmanager (max_alerts): 10 in the group');
  });

  it('truncates a 100 KB annotation visibly', () => {
    const message = renderSlackMessage(event(hugeAnnotation(100 * 1024)), slackOptions);
    const section = message.blocks[1] as { text: { text: string } };
    expect(section.text.text.length).toBeLessThanOrEqual(2000);
    expect(section.text.text).toMatch(/… \(truncated\)$/);
    expect(section.text.text).not.toMatch(/&[a-z]{0,3}… \(truncated\)$/); // no entity cut in half
  });

  it('truncates a long runbook section visibly, pointing at the runbook', () => {
    const body = fixture('firing');
    const alerts = body.alerts as { labels: Record<string, string> }[];
    for (const a of alerts) a.labels.alertname = 'TestLongMitigation';
    const message = renderSlackMessage(
      event({ ...body, commonLabels: { ...(body.commonLabels as object), alertname: 'TestLongMitigation' } }),
      slackOptions,
    );
    const remediation = message.blocks.find(
      (b) => b.type === 'section' && b.text?.text.startsWith('*What to do*'),
    ) as {
      text: { text: string };
    };
    expect(remediation.text.text.length).toBeLessThanOrEqual(3000);
    expect(remediation.text.text).toMatch(/… \(truncated: the whole text is in the runbook\)$/);
  });

  it('keeps unicode whole: no lone surrogate after truncation', () => {
    const message = renderSlackMessage(event(fixture('unicode')), slackOptions);
    expect(visibleText(message)).toContain('生产-東京 🚀');
    expect(visibleText(message)).toContain('👩‍👩‍👧‍👦');
    const cut = truncate('𝔘'.repeat(100), 51, '…');
    expect(cut.length).toBeLessThanOrEqual(51);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('shows the resolved form, and thread replies for join, resolve and reminder', () => {
    const record: DeliveryRecord = {
      state: 'open',
      ref: { channel: 'C1', ts: '1.1' },
      firing: ['00000000000000m0', '00000000000000m2'],
      openedAt: NOW - 3_600_000,
      updatedAt: NOW - 3_600_000,
    };
    const joined = event(fixture('mixed'), record);
    expect(joined.kind).toBe('update');
    const reply = visibleText(renderSlackReply(joined, slackOptions));
    expect(reply).toContain('Update: 1 new alert firing, 1 resolved, 2 firing now.');
    expect(reply).toContain('*New*');
    expect(reply).toContain('nodepool=pool-b');
    expect(reply).toContain('*Resolved*');
    expect(reply).toContain('nodepool=pool-c');

    const resolved = event(fixture('resolved'), { ...record, firing: ['a1b2c3d4e5f60718'] });
    expect(resolved.kind).toBe('resolve');
    const message = renderSlackMessage(resolved, slackOptions);
    expect(message.blocks[0]?.type === 'header' && message.blocks[0].text.text).toBe(
      '✅ RESOLVED · CalicoLicenseExpiringSoon · prod',
    );
    expect(visibleText(message)).toContain('*Fired for*\n2h 30m');
    expect(visibleText(renderSlackReply(resolved, slackOptions))).toBe(
      'Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.',
    );

    const reminder = event(fixture('firing'), { ...record, firing: ['a1b2c3d4e5f60718'] }, true);
    expect(reminder.kind).toBe('reminder');
    expect(visibleText(renderSlackReply(reminder, slackOptions))).toBe(
      'Still firing: 1 alert since 2026-11-28 08:00 UTC (4h).',
    );
  });
});

describe('mrkdwn', () => {
  it.each([
    ['a & b < c > d', 'a &amp; b &lt; c &gt; d'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['&amp;', '&amp;amp;'],
  ])('escapeMrkdwn(%j) = %j', (input, output) => expect(escapeMrkdwn(input)).toBe(output));

  it('renders runbook Markdown without touching code', () => {
    const mrkdwn = (markdown: string) => toMrkdwn(fromMarkdown(markdown));
    expect(
      mrkdwn(
        '## Step\n**bold** and `**code**`\n- item\n[docs](https://x.example/a|b)\n```sh\n**x** <y>\n```',
      ),
    ).toBe(
      '*Step*\n*bold* and `**code**`\n• item <https://x.example/a%7Cb|docs (x.example)>\n```\n**x** &lt;y&gt;\n```',
    );
    // Not a link target Slack should open: the words stay, the link goes.
    expect(mrkdwn('[evil](javascript:alert(1))')).toBe('evil');
  });

  it('renders a heading with emphasis as one bold line, and ~~strike~~', () => {
    expect(toMrkdwn(fromMarkdown('## Renew **now** _please_\n~~old~~ new'))).toBe(
      '*Renew now please*\n~old~ new',
    );
  });
});

describe('email', () => {
  it('has a subject that names the group and HTML and text parts with the same content', () => {
    const mail = renderEmail(event(fixture('firing')), undefined, emailOptions);
    expect(mail.subject).toBe('[FIRING:1] CalicoLicenseExpiringSoon cluster=prod');
    expect(mail.messageId).toMatch(/^<[0-9a-f]{16}\.[0-9a-z]+\.new@example\.com>$/);
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain('The Calico Enterprise licence expires in less than 30 days.');
      expect(part).toContain('Ask the ');
      expect(part).toContain('contract owner');
      expect(part).toContain('https://runbooks.example.com/CalicoLicenseExpiringSoon');
      expect(part).toContain('/#/silences/new?filter=');
    }
    expect(mail.html).toContain('kubectl apply -f &lt;customer&gt;-license.yaml');
    expect(mail.text).toContain('kubectl apply -f <customer>-license.yaml');
  });

  it('replies to the first Message-ID; the resolve says RESOLVED in its subject', () => {
    const ref = {
      message_id: '<root@example.com>',
      subject: '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod',
    };
    const record: DeliveryRecord = {
      state: 'open',
      ref,
      firing: ['a1b2c3d4e5f60718'],
      openedAt: NOW - 1,
      updatedAt: NOW - 1,
    };
    const mail = renderEmail(event(fixture('resolved'), record), ref, emailOptions);
    expect(mail.subject).toBe('[RESOLVED] CalicoLicenseExpiringSoon cluster=prod');
    expect(mail.inReplyTo).toBe('<root@example.com>');
    expect(mail.references).toEqual(['<root@example.com>']);
    expect(mail.text.split('\n').slice(0, 2)).toEqual([
      '[RESOLVED] CalicoLicenseExpiringSoon cluster=prod',
      'Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.',
    ]);
    expect(mail.headers['X-Alert-Status']).toBe('resolved');
    expect(mail.headers['Thread-Topic']).toBe('CalicoLicenseExpiringSoon cluster=prod');
    // A record from before Thread-Index was kept: no Thread-Index rather than a made-up one.
    expect(mail.headers['Thread-Index']).toBeUndefined();
    // An update keeps the first subject (Gmail threads by subject).
    const [lead] = fixture('firing').alerts as Record<string, unknown>[];
    const other = {
      ...lead,
      fingerprint: 'ffffffffffffffff',
      labels: { alertname: 'CalicoLicenseExpiringSoon', node: 'x' },
    };
    const join = withAlerts(fixture('firing'), [other]);
    expect(renderEmail(event(join, record), ref, emailOptions).subject).toBe(ref.subject);
  });

  it('escapes HTML in every value and keeps CR/LF out of headers', () => {
    const mail = renderEmail(event(fixture('injection')), undefined, emailOptions);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).not.toContain('<b>bold');
    expect(mail.html).not.toContain('href="javascript:');
    expect(mail.html).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).toBe(
      '[FIRING:1] CalicoLicenseExpiringSoon cluster=prod Bcc: attacker@evil.example.com X-Injected: yes',
    );
    for (const value of Object.values(mail.headers)) expect(value).not.toMatch(/[\r\n]/);
  });

  it('caps huge values and lists at most max_alerts alerts', () => {
    const huge = renderEmail(event(hugeAnnotation(100 * 1024)), undefined, emailOptions);
    expect(huge.text.length).toBeLessThan(30_000);
    expect(huge.text).toContain('… (truncated)');
    const many = renderEmail(event(manyAlerts(200)), undefined, emailOptions);
    expect(many.text.match(/^- \[firing\] node=/gm)).toHaveLength(50);
    expect(many.text).toContain('- … and 150 more (200 in total)');
  });

  it.each([
    ['a\r\nBcc: x@y', 'a Bcc: x@y'],
    ['tab\there', 'tab here'],
    ['\u2028line', 'line'],
  ])('headerValue(%j) = %j', (input, output) => expect(headerValue(input)).toBe(output));

  it('renders runbook Markdown as escaped HTML', () => {
    expect(escapeHtml(`<a href="x">'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&lt;/a&gt;');
    expect(toHtml(fromMarkdown('**b** [l](https://x.example/?a=1&b=2) `<c>`\n```sh\n<d>\n```'))).toBe(
      '<p style="margin:0 0 8px"><strong>b</strong> <a href="https://x.example/?a=1&amp;b=2">l (x.example)</a> <code>&lt;c&gt;</code></p>\n<pre style="background:#f4f4f4;padding:6px">&lt;d&gt;</pre>',
    );
  });
});
