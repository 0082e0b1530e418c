// Resolved means resolved, in every channel: a resolved notification says it is resolved, when, and
// after how long; it shows no remediation and asks for nothing (no runbook, no silence); the firing
// text appears only as past context ("Was: …"); the licence facts of when it fired are not stated as
// the state now. With prometheus_url, the values now come from a real Prometheus ("Expires now: …"),
// and a Prometheus that does not answer only leaves them out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { visibleText } from '../../test/fakes/slack-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { selectedPair, startPrometheus, toolsFor } from '../../test/helpers/tools.js';
import type { ChannelRef, WireRequest } from '../src/channels/channel.js';
import type { EmailMessage } from '../src/channels/email/render.js';
import { threadIndexRoot } from '../src/channels/email/thread-index.js';
import type { DeliveryRecord } from '../src/outbox/plan.js';
import { humanDuration, humanTime } from '../src/units.js';
import { everyChannel } from './fixtures/channels.js';
import { plannedEvent } from './fixtures/events.js';
import { ruleAlert } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness } from './harness.js';

type Payload = {
  alerts: { startsAt: string; endsAt: string }[];
  commonAnnotations: Record<string, string>;
};
const KEY = 'agent/CalicoLicenseExpiryCritical';
const firing = ruleAlert(KEY) as unknown as Payload;
const resolved = ruleAlert(KEY, 'resolved') as unknown as Payload;
const notes = firing.commonAnnotations;
const startedAt = Date.parse(resolved.alerts[0]?.startsAt as string);
const endedAt = Date.parse(resolved.alerts[0]?.endsAt as string);
const RESOLVED_LINE = `Resolved at ${humanTime(endedAt)} after firing for ${humanDuration(endedAt - startedAt)}.`;

/** What the destination keeps of the first message (a thread, a mail, a ticket), by channel type. */
const REFS: Record<string, ChannelRef> = {
  slack: { channel: 'C0123', ts: '1762740000.000100' },
  email: {
    message_id: '<root@example.com>',
    subject: '[FIRING:1] CalicoLicenseExpiryCritical cluster=c1',
    thread_index: threadIndexRoot(startedAt, '<root@example.com>'),
  },
  jira: { key: 'LIC-7', id: '10007', url: 'https://acme.atlassian.net/browse/LIC-7' },
  servicenow: {
    key: 'INC0010007',
    id: 'abc123',
    url: 'https://acme.service-now.com/incident.do?sys_id=abc123',
  },
  github: { key: '#7', id: '7', url: 'https://github.com/acme/licences/issues/7' },
};

/** What a person reads of the requests (the webhook's and console's `text`; every body else). */
function readable(type: string, requests: WireRequest[]): string {
  const bodies = requests.map((r) => r.body as Record<string, unknown>);
  if (type === 'email') {
    const mail = bodies[0] as unknown as EmailMessage;
    return [mail.subject, mail.text, mail.html].join('\n');
  }
  if (type === 'console' || type === 'webhook') return String(bodies[0]?.text);
  // Jira's wiki markup escapes dashes (2026\-11\-10).
  return JSON.stringify(bodies).replaceAll('\\\\', '');
}

describe('a resolved notification in every channel', () => {
  const open: DeliveryRecord = {
    state: 'open',
    ref: {},
    firing: [],
    openedAt: startedAt,
    updatedAt: startedAt,
  };
  for (const [what, record] of [
    ['resolving the message it sent', open],
    ['seen only resolved', undefined],
  ] as const) {
    // A ticket system is searched first for a group seen only resolved: `render` can show only the
    // search (the resolve comment is the one above).
    for (const channel of everyChannel().filter(
      (c) => record || !(c.type in REFS) || c.type === 'slack' || c.type === 'email',
    )) {
      it(`${channel.name}, ${what}: resolved, when, after how long; the firing text only as "was"; nothing to do`, () => {
        const ref = record ? REFS[channel.type] : undefined;
        const event = plannedEvent(resolved, {
          record: record && { ...record, ...(ref ? { ref } : {}) },
          now: endedAt + 60_000,
        });
        const text = readable(channel.type, channel.render(event, ref));
        expect(text).toContain(RESOLVED_LINE);
        expect(text).toMatch(/[Ww]as: The Calico Enterprise licence expires in a few days\./);
        // Never the firing state as the state now: not its description, not its facts.
        expect(text).not.toContain(notes.description);
        expect(text).not.toContain(`${notes.days_left} days left`);
        expect(text).not.toContain('FIRING');
        // No remediation and no call to action.
        expect(text).not.toContain((notes.remediation as string).split('\n')[0]);
        expect(text).not.toMatch(/What (was )?to (be )?do/);
        expect(text).not.toContain('silences/new');
        expect(text).not.toContain(notes.runbook_url);
      });
    }
  }

  it('email: the resolve reply says RESOLVED in its subject and stays in the first mail’s thread', () => {
    const mail = everyChannel()
      .find((c) => c.type === 'email')
      ?.render(
        plannedEvent(resolved, { record: { ...open, ref: REFS.email as ChannelRef }, now: endedAt }),
        REFS.email,
      )[0]?.body as EmailMessage;
    expect(mail.subject).toBe('[RESOLVED] CalicoLicenseExpiryCritical cluster=c1');
    expect(mail.inReplyTo).toBe('<root@example.com>');
    expect(mail.references).toEqual(['<root@example.com>']);
    expect(mail.headers['Thread-Topic']).toBe('CalicoLicenseExpiryCritical cluster=c1');
    const index = Buffer.from(mail.headers['Thread-Index'] as string, 'base64');
    const root = Buffer.from((REFS.email as { thread_index: string }).thread_index, 'base64');
    expect(index.length).toBe(27);
    expect(index.subarray(0, 22)).toEqual(root);
  });
});

// ---------------------------------------------------------------------------------------------------
// The values now, from a real Prometheus scraping a target that exports the licence metrics.

const EXPIRES_NOW = Date.parse('2027-12-04T00:00:00Z');
const LABELS = 'job="license-agent",instance="agent-1:9081",cluster="c1"';
const EXPOSITION = [
  `calico_license_expiry_timestamp_seconds{${LABELS}} ${EXPIRES_NOW / 1000}`,
  `calico_license_grace_period_end_timestamp_seconds{${LABELS}} ${EXPIRES_NOW / 1000 + 30 * 86_400}`,
  '',
].join('\n');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => cleanupPki());

async function prometheus(): Promise<string> {
  const target = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(EXPOSITION);
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => target.close(() => r())));
  const dir = mkdtempSync(join(tmpdir(), 'lm-resolve-prom-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'prometheus.yml');
  const address = target.address() as { port: number };
  // honor_labels: the target's own job and instance labels, as the alert carries them.
  writeFileSync(
    config,
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: agent\n    honor_labels: true\n    static_configs: [{ targets: ['127.0.0.1:${address.port}'] }]\n`,
  );
  const prom = await startPrometheus(toolsFor(selectedPair()), { config, dataDir: join(dir, 'data') });
  cleanups.push(async () => {
    await prom.stop();
  });
  const url = prom.url;
  await waitFor(
    async () => {
      const res = await fetch(`${url}/api/v1/query?query=calico_license_expiry_timestamp_seconds`);
      const body = (await res.json()) as { data: { result: unknown[] } };
      return body.data.result.length === 1;
    },
    20_000,
    'Prometheus to scrape the licence metrics',
  );
  return url;
}

async function receiverWith(prometheusUrl: string, timeout = '2s'): Promise<Harness> {
  const h = await startHarness({ config: { prometheus_url: prometheusUrl, prometheus_timeout: timeout } });
  cleanups.push(() => h.stop());
  return h;
}

async function fireAndResolve(h: Harness): Promise<{ slack: string; reply: string; mail: string }> {
  expect((await h.post(firing)).status).toBe(200);
  await h.drained();
  expect((await h.post(resolved)).status).toBe(200);
  await h.drained(10_000);
  const [root] = h.slack.roots();
  const replies = h.slack.replies(root as NonNullable<typeof root>);
  await waitFor(() => h.smtp.mails.length === 2, 5000, 'the resolve mail');
  return {
    slack: visibleText(root as NonNullable<typeof root>),
    reply: visibleText(replies.at(-1) as NonNullable<(typeof replies)[0]>),
    mail: h.smtp.mails[1]?.parsed.text ?? '',
  };
}

describe('the licence values now, from Prometheus (prometheus_url)', () => {
  it('says what they are now in the edited message, the thread reply and the mail', async () => {
    const h = await receiverWith(await prometheus());
    const { slack, reply, mail } = await fireAndResolve(h);
    const days = Math.floor((EXPIRES_NOW - Date.now()) / 86_400_000);
    const daysText = new RegExp(`\\((${days}|${days - 1}) days left\\)`);
    expect(mail).toMatch(new RegExp(`Expires now: 2027-12-04 00:00 UTC ${daysText.source}`));
    expect(mail).toContain('Grace period ends now: 2028-01-03 00:00 UTC');
    expect(reply).toMatch(
      new RegExp(`^${RESOLVED_LINE.replace(/[.()]/g, '\\$&')}\\nExpires now: 2027-12-04 00:00 UTC`),
    );
    expect(slack).toContain('Expires now');
    expect(slack).toContain('|2027-12-04 00:00 UTC>');
    // The firing facts are not stated as now.
    expect(mail).not.toContain(`Expires: ${humanTime(Date.parse(notes.expires_at as string))}`);
  }, 60_000);

  it('sends the resolve without them when Prometheus does not answer in prometheus_timeout', async () => {
    // A Prometheus that accepts the connection and never answers.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    const h = await receiverWith(`http://127.0.0.1:${(silent.address() as { port: number }).port}`, '300ms');
    const { mail, reply } = await fireAndResolve(h);
    expect(mail).toContain(RESOLVED_LINE);
    expect(mail).not.toContain(' now: ');
    expect(reply).toBe(RESOLVED_LINE);
  }, 30_000);
});
