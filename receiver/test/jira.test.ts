// The Jira channel end to end: webhook → outbox → delivery loop → the fake Jira (Cloud and Data
// Center) over real HTTP; the lifecycle of one alert group, duplicates while search lags, faults, and
// the pure request bodies of `render`.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SCREEN_FIELDS,
  FakeJira,
  type FakeJiraOptions,
  isAdfDocument,
  type JiraIssueJson,
  parseJql,
  plainText,
} from '../../test/fakes/jira-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import type { WireRequest } from '../src/channels/channel.js';
import type { AdfNode } from '../src/channels/doc.js';
import { createChannel } from '../src/channels/index.js';
import { describeJira, jiraTime } from '../src/channels/jira/index.js';
import { findJql, jqlString } from '../src/channels/jira/render.js';
import { parseConfig } from '../src/config.js';
import type { DeliveryEvent, DeliveryRecord } from '../src/outbox/plan.js';
import { startReceiver } from '../src/receiver.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture, hugeAnnotation, manyAlerts, withAlerts } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness, TOKEN } from './harness.js';

type Json = Record<string, unknown>;
const DAY = 86_400_000;
/** The identity label of the fixtures' group (receiver license-receiver, alertname + cluster). */
const IDENTITY = 'ALERT{6a5487e96aff1444b670340bf2c5e492}';
const CLOSE_ENOUGH_MS = 1000;

let h: Harness | undefined;
let jira: FakeJira | undefined;
afterEach(async () => {
  await h?.stop();
  await jira?.close();
  h = undefined;
  jira = undefined;
});
afterAll(() => cleanupPki());

/** The channel's config for this fake: Cloud with email + API token, Data Center with a PAT. */
function jiraChannel(fake: FakeJira, extra: Json = {}): Json {
  const cloud = fake.deployment === 'cloud';
  return {
    name: 'jira',
    type: 'jira',
    url: fake.url,
    api: cloud ? 'cloud' : 'datacenter',
    project: 'LIC',
    ...(cloud
      ? { email: fake.email, api_token_env: 'JIRA_API_TOKEN' }
      : { personal_access_token_env: 'JIRA_PAT' }),
    labels: ['license-monitor'],
    components: ['Licensing'],
    fields: { customfield_10010: 'platform' },
    // The fake's workflow reopens with "Reopen" (a simplified Cloud workflow would say "To Do").
    reopen_transition: 'Reopen',
    search_lag: '0s',
    timeout: '2s',
    rate_limit: { per_second: 100, burst: 100 },
    ...extra,
  };
}

async function startBoth(
  fakeOptions: FakeJiraOptions = {},
  channel: Json = {},
  config: Json = {},
): Promise<{ h: Harness; jira: FakeJira }> {
  const fake = await FakeJira.start(fakeOptions);
  jira = fake;
  h = await startHarness({
    channels: [jiraChannel(fake, channel)],
    env: { JIRA_API_TOKEN: fake.apiToken, JIRA_PAT: fake.pat },
    config,
  });
  return { h, jira: fake };
}

// ---- Payloads: one group firing, joined by a second alert, resolved, firing again ----

const alertsOf = (p: Json) => p.alerts as Json[];

function firing(startsAt = '2026-11-28T08:00:00Z'): Json {
  const p = fixture('firing');
  for (const a of alertsOf(p)) a.startsAt = startsAt;
  return p;
}

function joined(startsAt?: string): Json {
  const p = firing(startsAt);
  const [a] = alertsOf(p) as [Json];
  return withAlerts(p, [
    {
      ...a,
      labels: { ...(a.labels as Json), instance: 'license-agent-2' },
      fingerprint: 'b1b2c3d4e5f60718',
      startsAt: '2026-11-28T09:00:00Z',
    },
  ]);
}

function resolved(startsAt = '2026-11-28T08:00:00Z', endsAt = '2026-11-28T10:30:00Z'): Json {
  const p = fixture('resolved');
  for (const a of alertsOf(p)) Object.assign(a, { startsAt, endsAt });
  return p;
}

const only = (fake: FakeJira): JiraIssueJson => {
  const issues = fake.issues();
  expect(issues.map((i) => i.key)).toHaveLength(1);
  return issues[0] as JiraIssueJson;
};

/** Every node of an ADF document, depth first. */
function nodes(doc: unknown): AdfNode[] {
  const n = doc as AdfNode;
  return [n, ...(n.content ?? []).flatMap(nodes)];
}

// ---- The lifecycle on Cloud, step by step against one receiver ----

describe('Jira Cloud: the lifecycle of one alert group', () => {
  let life: Harness;
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await FakeJira.start();
    life = await startHarness({
      channels: [jiraChannel(fake)],
      env: { JIRA_API_TOKEN: fake.apiToken },
    });
  });
  afterAll(async () => {
    await life?.stop();
    await fake?.close();
  });

  it('1. fire → one issue with the summary, remediation, values, links and the identity label', async () => {
    expect((await life.post(firing())).status).toBe(200);
    await life.drained();
    const issue = only(fake);
    expect(issue.key).toBe('LIC-1');
    const f = issue.fields;
    expect(f.summary).toBe(
      'CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.',
    );
    expect(f.labels).toEqual(['license-monitor', IDENTITY]);
    expect(f.priority?.name).toBe('High'); // warning → High by default
    expect(f.components.map((c) => c.name)).toEqual(['Licensing']);
    expect(f.customfield_10010).toBe('platform');
    expect(f.issuetype.name).toBe('Task');
    expect(isAdfDocument(f.description)).toBe(true);
    const text = plainText(f.description);
    expect(text).toContain('The licence of cluster prod expires on 2026-12-10 (12 days left).');
    expect(text).toContain('What to do (from the runbook CalicoLicenseExpiringSoon.md)');
    expect(text).toContain('Ask the contract owner to renew with Tigera');
    expect(text).toContain(`Identity: ${IDENTITY}`);
    const all = nodes(f.description);
    expect(all.find((n) => n.type === 'codeBlock')?.content?.[0]?.text).toBe(
      '# on the management cluster\nkubectl apply -f <customer>-license.yaml',
    );
    const hrefs = all.flatMap((n) => n.marks ?? []).map((m) => m.attrs?.href);
    expect(hrefs).toContain('https://runbooks.example.com/CalicoLicenseExpiringSoon');
    expect(
      hrefs.some((u) => String(u).startsWith('http://alertmanager.example.com:9093/#/silences/new')),
    ).toBe(true);
    // Found through the new JQL search (the old /search answers 410 on Cloud), then created.
    const [search] = fake.callsTo('POST', /^\/rest\/api\/3\/search\/jql$/);
    expect(search?.body).toEqual({
      jql: `project = "LIC" AND labels = "${IDENTITY}" ORDER BY created DESC`,
      fields: ['status', 'resolution', 'resolutiondate'],
      maxResults: 1,
    });
    expect(fake.callsTo('POST', /^\/rest\/api\/3\/issue$/).map((c) => c.status)).toEqual([201]);
  });

  it('2. an alert joins → a comment, no new issue', async () => {
    await life.post(joined());
    await life.drained();
    const issue = only(fake);
    expect(fake.comments(issue.key)).toHaveLength(1);
    const [comment] = fake.comments(issue.key);
    expect(comment).toMatch(/^Update: 1 new alert firing, 2 firing now\./);
    expect(comment).toContain('Now firing');
    expect(isAdfDocument(fake.issue(issue.key)?.fields.comment.comments[0]?.body)).toBe(true);
  });

  it('3. resolve → Done through the "Done" transition, with a comment saying how long it fired', async () => {
    await life.post(resolved());
    await life.drained();
    const f = only(fake).fields;
    expect(f.status.name).toBe('Done');
    expect(f.resolution?.name).toBe('Done');
    const comments = fake.comments('LIC-1');
    expect(comments).toHaveLength(2);
    expect(comments[1]).toMatch(/^Resolved at 2026-11-28 10:30 UTC after firing for \S+/);
    // Transition first, then the comment: a retry after a failed comment only comments.
    const order = fake.calls
      .filter((c) => c.method === 'POST' && /\/issue\/10001\/(transitions|comment)$/.test(c.path))
      .map((c) => c.path.split('/').at(-1));
    expect(order).toEqual(['comment', 'transitions', 'comment']);
    expect(fake.callsTo('POST', /\/transitions$/)[0]?.body).toEqual({ transition: { id: '31' } });
  });

  it('4. fire again within the reopen window → the same issue reopened, with a comment', async () => {
    await life.post(firing('2026-11-28T12:00:00Z'));
    await life.drained();
    const f = only(fake).fields;
    expect(f.status.name).toBe('To Do');
    expect(f.resolution).toBeNull();
    const comments = fake.comments('LIC-1');
    expect(comments).toHaveLength(3);
    expect(comments[2]).toMatch(
      /^Firing again since 2026-11-28 12:00 UTC: license-monitor reopened this ticket\./,
    );
    expect(fake.callsTo('POST', /\/transitions$/).at(-1)?.body).toEqual({ transition: { id: '51' } });
  });

  it('5. resolved longer ago than the window → a new issue naming and linking the old one', async () => {
    await life.post(resolved('2026-11-28T12:00:00Z', '2026-11-28T13:00:00Z'));
    await life.drained();
    expect(fake.issue('LIC-1')?.fields.status.name).toBe('Done');
    fake.backdateResolution('LIC-1', 8 * DAY);
    await life.post(firing('2026-11-28T14:00:00Z'));
    await life.drained();
    expect(fake.issues().map((i) => i.key)).toEqual(['LIC-1', 'LIC-2']);
    const second = fake.issue('LIC-2') as JiraIssueJson;
    expect(second.fields.labels).toContain(IDENTITY);
    expect(plainText(second.fields.description)).toContain('This alert fired before: LIC-1.');
    const earlierLink = nodes(second.fields.description).find((n) => n.text === 'LIC-1');
    expect(earlierLink?.marks).toEqual([{ type: 'link', attrs: { href: `${fake.url}/browse/LIC-1` } }]);
    expect(second.fields.issuelinks.map((l) => [l.type.name, l.outwardIssue?.key])).toEqual([
      ['Relates', 'LIC-1'],
    ]);
    expect(fake.callsTo('POST', /^\/rest\/api\/3\/issueLink$/)[0]?.body).toEqual({
      type: { name: 'Relates' },
      inwardIssue: { key: 'LIC-2' },
      outwardIssue: { key: 'LIC-1' },
    });
    expect(fake.comments('LIC-1')).toHaveLength(4); // nothing more on the old one
    expect(fake.comments('LIC-2')).toHaveLength(0);
  });

  it("6. closed as won't fix → resolve only comments; firing again → a new issue", async () => {
    fake.humanTransition('LIC-2', "Won't Do");
    const transitions = fake.callsTo('POST', /\/transitions$/).length;
    await life.post(resolved('2026-11-28T14:00:00Z', '2026-11-28T14:30:00Z'));
    await life.drained();
    expect(fake.callsTo('POST', /\/transitions$/)).toHaveLength(transitions); // done already
    expect(fake.issue('LIC-2')?.fields.resolution?.name).toBe("Won't Do");
    expect(fake.comments('LIC-2')).toEqual([expect.stringMatching(/^Resolved at 2026-11-28 14:30 UTC/)]);
    // Within the reopen window, but a person said won't fix: a new issue, not a reopen.
    await life.post(firing('2026-11-28T14:45:00Z'));
    await life.drained();
    expect(fake.issues().map((i) => i.key)).toEqual(['LIC-1', 'LIC-2', 'LIC-3']);
    expect(fake.issue('LIC-2')?.fields.status.name).toBe('Done');
    expect(plainText(fake.issue('LIC-3')?.fields.description)).toContain('This alert fired before: LIC-2.');
  });

  it('never calls the removed /rest/api/3/search, and nothing was dead-lettered', async () => {
    expect(fake.calls.filter((c) => c.path === '/rest/api/3/search')).toEqual([]);
    expect(fake.calls.filter((c) => c.status >= 400)).toEqual([]);
    expect(await life.receiver.store.dead()).toEqual([]);
  });
});

// ---- Data Center and api: auto ----

describe('Jira Data Center (API v2, wiki markup, personal access token)', () => {
  it('fire, change, resolve, fire again: wiki descriptions and comments, /rest/api/2/search', async () => {
    const { h, jira } = await startBoth({ deployment: 'datacenter' });
    await h.post(firing());
    await h.drained();
    const issue = only(jira);
    const description = issue.fields.description as string;
    expect(typeof description).toBe('string');
    expect(description).toContain('\n\nh3. What to do (from the runbook CalicoLicenseExpiringSoon.md)\n\n');
    expect(description).toContain('# Ask the *contract owner* to renew with Tigera');
    expect(description).toContain(
      '# Apply the renewed licence: \\\\ {{\\# on the management cluster}} \\\\ {{kubectl apply \\-f <customer>\\-license.yaml}}',
    );
    expect(description).toContain('* [Runbook|https://runbooks.example.com/CalicoLicenseExpiringSoon]');
    expect(issue.fields.labels).toEqual(['license-monitor', IDENTITY]);
    expect(jira.callsTo('POST', /^\/rest\/api\/2\/search$/)[0]?.body).toEqual({
      jql: `project = "LIC" AND labels = "${IDENTITY}" ORDER BY created DESC`,
      fields: ['status', 'resolution', 'resolutiondate'],
      maxResults: 1,
      startAt: 0,
    });

    await h.post(joined());
    await h.drained();
    await h.post(resolved());
    await h.drained();
    expect(jira.issue('LIC-1')?.fields.status.name).toBe('Done');
    await h.post(firing('2026-11-28T12:00:00Z'));
    await h.drained();

    expect(only(jira).fields.status.name).toBe('To Do');
    const comments = jira.comments('LIC-1');
    expect(comments).toHaveLength(3);
    expect(comments[0]).toMatch(/^\*Update: 1 new alert firing, 2 firing now\.\*/);
    expect(comments[1]).toMatch(/^\*Resolved at 2026\\-11\\-28 10:30 UTC after firing for/);
    expect(comments[2]).toMatch(/^\*Firing again since 2026\\-11\\-28 12:00 UTC/);
    expect(jira.calls.filter((c) => c.path.startsWith('/rest/api/3'))).toEqual([]);
    expect(jira.calls.filter((c) => c.status >= 400)).toEqual([]);
  });
});

describe('api: auto', () => {
  it.each([
    ['cloud', '3', '/search/jql'],
    ['datacenter', '2', '/search'],
  ] as const)(
    'against %s: asks serverInfo once, then speaks API v%s',
    async (deployment, version, search) => {
      const { h, jira } = await startBoth({ deployment }, { api: 'auto' });
      await h.post(firing());
      await h.drained();
      await h.post(joined());
      await h.drained();
      expect(jira.callsTo('GET', /^\/rest\/api\/2\/serverInfo$/)).toHaveLength(1);
      expect(jira.calls[0]?.path).toBe('/rest/api/2/serverInfo');
      const rest = jira.calls.slice(1).map((c) => `${c.method} ${c.path}`);
      expect(rest).toEqual([
        `POST /rest/api/${version}${search}`,
        `POST /rest/api/${version}/issue`,
        `POST /rest/api/${version}/issue/10001/comment`,
      ]);
      expect(only(jira).fields.labels).toContain(IDENTITY);
    },
  );
});

// ---- Duplicates ----

describe('duplicates', () => {
  it('the same payload posted twice at once (an HA pair) → one issue', async () => {
    const { h, jira } = await startBoth();
    const answers = await Promise.all([h.post(firing()), h.post(firing())]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await h.drained();
    await new Promise((r) => setTimeout(r, 150));
    expect(jira.issues()).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([]);
  });

  it('while search lags 60 s: the same payload twice at once (no intake dedupe) → one issue', async () => {
    // dedupe_window 0: the twin is queued too (as a repeat), so both rows reach the channel.
    const { h, jira } = await startBoth(
      { searchLagMs: 60_000 },
      { search_lag: '60s' },
      { dedupe_window: '0s' },
    );
    await Promise.all([h.post(firing()), h.post(firing())]);
    await h.drained();
    expect(jira.issues()).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([]);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('while search lags 60 s: firing then a change right after → one issue and one comment', async () => {
    const { h, jira } = await startBoth({ searchLagMs: 60_000 }, { search_lag: '60s' });
    await h.post(firing());
    await h.post(joined());
    await h.drained();
    expect(jira.issues()).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([expect.stringMatching(/^Update: 1 new alert firing/)]);
    // The change went by the local record, not by search (which does not show the issue yet).
    expect(jira.callsTo('POST', /\/search\/jql$/)).toHaveLength(1);
  });

  it('a create answered after the timeout while search lags → still one issue, no comment', async () => {
    const { h, jira } = await startBoth({ searchLagMs: 1500 }, { search_lag: '5s', timeout: '300ms' });
    jira.failNext({ delayMs: 1000 }, 1, { method: 'POST', path: /^\/rest\/api\/3\/issue$/ });
    await h.post(firing());
    await h.drained(10_000);
    expect(jira.issues()).toHaveLength(1);
    expect(jira.callsTo('POST', /^\/rest\/api\/3\/issue$/)).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([]); // the unanswered create's own issue: adopted silently
    // Searched again until the issue showed (about 1.5 s after the create).
    const searches = jira.callsTo('POST', /\/search\/jql$/);
    expect(searches.length).toBeGreaterThan(2);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('after a receiver restart, a change still comments on the issue (the record is in SQLite)', async () => {
    const { h, jira } = await startBoth({ searchLagMs: 60_000 }, { search_lag: '60s' });
    await h.post(firing());
    await h.drained();
    await h.receiver.stop();
    const again = await startReceiver(h.config, pino({ level: 'silent' }));
    try {
      const res = await fetch(`${again.url}/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(joined()),
      });
      expect(res.status).toBe(200);
      await waitFor(
        async () => (await again.store.stats()).every((s) => s.pending === 0 && s.inflight === 0),
        5000,
        'the outbox to drain',
      );
    } finally {
      await again.stop();
    }
    expect(jira.issues()).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([expect.stringMatching(/^Update: 1 new alert firing/)]);
  });
});

describe("Alertmanager's repeat of an unchanged group", () => {
  it.each([
    [false, 0],
    [true, 1],
  ])('reminder_comments %s → %i comment(s)', async (reminders, count) => {
    // dedupe_window 0: the same content again is Alertmanager's repeat_interval, not an HA twin.
    const { h, jira } = await startBoth({}, { reminder_comments: reminders }, { dedupe_window: '0s' });
    await h.post(firing());
    await h.drained();
    await h.post(firing());
    await h.drained();
    expect(jira.issues()).toHaveLength(1);
    const comments = jira.comments('LIC-1');
    expect(comments).toHaveLength(count);
    for (const c of comments) expect(c).toMatch(/^Still firing: 1 alert since 2026-11-28 08:00 UTC/);
  });
});

describe('a create that got no answer', () => {
  const GROUP_ID = IDENTITY.slice('ALERT{'.length, -1);
  const CREATE = { method: 'POST', path: /^\/rest\/api\/3\/issue$/ };
  const doubtRecorded = async (harness: Harness) =>
    typeof (await harness.receiver.store.record('jira', GROUP_ID))?.ref.uncertainCreateAt === 'number';

  it('survives a restart while search lags: the doubt is kept in SQLite, one issue, no comment', async () => {
    const { h, jira } = await startBoth({ searchLagMs: 3000 }, { search_lag: '20s', timeout: '300ms' });
    jira.failNext({ delayMs: 800 }, 1, CREATE);
    await h.post(firing());
    await waitFor(() => doubtRecorded(h), 5000, 'the unanswered create recorded');
    await h.receiver.stop();
    expect(jira.issues()).toHaveLength(1); // Jira did create it; the receiver never heard
    const again = await startReceiver(h.config, pino({ level: 'silent' }));
    try {
      await waitFor(
        async () => (await again.store.stats()).every((s) => s.pending === 0 && s.inflight === 0),
        15_000,
        'the outbox to drain',
      );
      expect((await again.store.record('jira', GROUP_ID))?.ref).toMatchObject({ key: 'LIC-1' });
      expect(await again.store.dead()).toEqual([]);
    } finally {
      await again.stop();
    }
    expect(jira.issues()).toHaveLength(1);
    expect(jira.callsTo('POST', CREATE.path)).toHaveLength(1);
    expect(jira.comments('LIC-1')).toEqual([]);
  });

  it('after the reopen window: the older issue in search is not taken for the new one', async () => {
    const { h, jira } = await startBoth({ searchLagMs: 1500 }, { search_lag: '20s', timeout: '300ms' });
    await h.post(firing());
    await h.drained();
    await h.post(resolved());
    await h.drained();
    jira.backdateResolution('LIC-1', 8 * DAY);
    await new Promise((r) => setTimeout(r, 1700)); // search shows LIC-1 resolved; a new issue stays hidden
    jira.failNext({ delayMs: 800 }, 1, CREATE);
    await h.post(firing('2026-11-28T11:00:00Z'));
    await h.drained(15_000);
    expect(jira.issues().map((i) => i.key)).toEqual(['LIC-1', 'LIC-2']);
    expect((await h.receiver.store.record('jira', GROUP_ID))?.ref).toMatchObject({ key: 'LIC-2' });
    expect(jira.callsTo('POST', CREATE.path)).toHaveLength(2);
    expect(jira.issue('LIC-1')?.fields.status.name).toBe('Done'); // not reopened
    expect(jira.comments('LIC-2')).toEqual([]);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('a group first seen resolved opens no issue', async () => {
    const { h, jira } = await startBoth();
    await h.post(resolved());
    await h.drained();
    expect(jira.issues()).toEqual([]);
    expect(jira.callsTo('POST', /\/search\/jql$/)).toHaveLength(1);
  });
});

// ---- Faults ----

describe('faults', () => {
  it('429 with Retry-After 1 on create → retried after ≥ 1 s, one issue', async () => {
    const { h, jira } = await startBoth();
    jira.failNext({ status: 429, retryAfter: 1 }, 1, { method: 'POST', path: /^\/rest\/api\/3\/issue$/ });
    await h.post(firing());
    await h.drained(5000);
    const creates = jira.callsTo('POST', /^\/rest\/api\/3\/issue$/);
    expect(creates.map((c) => c.status)).toEqual([429, 201]);
    expect((creates[1]?.at ?? 0) - (creates[0]?.at ?? 0)).toBeGreaterThanOrEqual(CLOSE_ENOUGH_MS);
    expect(jira.issues()).toHaveLength(1);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('503 HTML from the edge on create → retried, one issue', async () => {
    const { h, jira } = await startBoth();
    jira.failNext({ status: 503 }, 1, { method: 'POST', path: /^\/rest\/api\/3\/issue$/ });
    await h.post(firing());
    await h.drained();
    expect(jira.callsTo('POST', /^\/rest\/api\/3\/issue$/).map((c) => c.status)).toEqual([503, 201]);
    expect(jira.issues()).toHaveLength(1);
  });

  it('a resolve transition the workflow does not offer → dead-lettered once, naming what Jira offers', async () => {
    const { h, jira } = await startBoth({}, { resolve_transition: 'Close Issue' });
    await h.post(firing());
    await h.drained();
    await h.post(resolved());
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'the dead row');
    await h.drained();
    const [dead] = await h.receiver.store.dead();
    expect(dead?.error).toBe(
      `Jira offers no transition "Close Issue" for LIC-1 (status "To Do"); it offers "Done", "Won't Do", "In Progress": set resolve_transition to one of them`,
    );
    await new Promise((r) => setTimeout(r, 300)); // no retry comes
    expect(jira.callsTo('GET', /\/transitions$/)).toHaveLength(1);
    expect(jira.callsTo('POST', /\/transitions$/)).toEqual([]);
    expect(jira.comments('LIC-1')).toEqual([]);
  });

  it('the default reopen transition "To Do" where the workflow says "Reopen" → dead-lettered, naming it', async () => {
    const { h, jira } = await startBoth({}, { reopen_transition: undefined });
    await h.post(firing());
    await h.drained();
    await h.post(resolved());
    await h.drained();
    await h.post(firing('2026-11-28T12:00:00Z'));
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await h.receiver.store.dead();
    expect(dead?.error).toBe(
      'Jira offers no transition "To Do" for LIC-1 (status "Done"); it offers "Reopen": set reopen_transition to one of them',
    );
    expect(jira.issues()).toHaveLength(1); // no second issue instead
    expect(jira.issue('LIC-1')?.fields.status.name).toBe('Done');
  });

  it('a field not on the create screen → dead-lettered with Jira’s own words', async () => {
    const { h, jira } = await startBoth({
      screenFields: DEFAULT_SCREEN_FIELDS.filter((f) => f !== 'labels'),
    });
    await h.post(firing());
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await h.receiver.store.dead();
    expect(dead?.error).toBe(
      "Jira answered HTTP 400 to POST /rest/api/3/issue: labels: Field 'labels' cannot be set. It is not on the appropriate screen, or unknown.",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(jira.callsTo('POST', /^\/rest\/api\/3\/issue$/)).toHaveLength(1);
    expect(jira.issues()).toEqual([]);
  });

  it('a wrong API token → dead-lettered with Jira’s words and what to check', async () => {
    const fake = await FakeJira.start();
    jira = fake;
    h = await startHarness({ channels: [jiraChannel(fake)], env: { JIRA_API_TOKEN: 'wrong' } });
    await h.post(firing());
    await waitFor(async () => (await h?.receiver.store.dead())?.length === 1, 5000, 'the dead row');
    const [dead] = await h.receiver.store.dead();
    expect(dead?.error).toBe(
      'Jira answered HTTP 401 to POST /rest/api/3/search/jql: You are not authenticated. Authentication required to perform this operation. (check the email (bot@example.com) and the API token)',
    );
    expect(dead?.error).not.toContain('wrong');
  });

  it('a failing issue link is only a warning: the new issue stands, no second one', async () => {
    const { h, jira } = await startBoth({}, { link_type: 'Causes' });
    await h.post(firing());
    await h.drained();
    await h.post(resolved());
    await h.drained();
    jira.backdateResolution('LIC-1', 8 * DAY);
    await h.post(firing('2026-11-28T12:00:00Z'));
    await h.drained();
    expect(jira.callsTo('POST', /\/issueLink$/).map((c) => c.status)).toEqual([404]);
    expect(jira.issues().map((i) => i.key)).toEqual(['LIC-1', 'LIC-2']);
    expect(plainText(jira.issue('LIC-2')?.fields.description)).toContain('This alert fired before: LIC-1.');
    expect(await h.receiver.store.dead()).toEqual([]);
  });
});

// ---- Pure: render and helpers ----

const NOW = Date.parse('2026-11-28T12:00:00Z');
const silent = pino({ level: 'silent' });

const bodyOf = (request: WireRequest | undefined) => (request?.body ?? {}) as Json;

/** The event the delivery loop would plan, given what the channel showed before (`record`). */
function eventOf(body: unknown, record?: DeliveryRecord): DeliveryEvent {
  return plannedEvent(body, { record, now: NOW });
}

/** A jira channel as `license-receiver render` builds it: no secrets read. */
function renderChannel(channel: Json) {
  const config = parseConfig(
    {
      channels: [
        {
          name: 'jira',
          type: 'jira',
          project: 'LIC',
          labels: ['license-monitor'],
          components: ['Licensing'],
          fields: { customfield_10010: 'platform' },
          ...channel,
        },
      ],
      default_channels: ['jira'],
    },
    '/etc/receiver.yaml',
    { secrets: false, env: {} },
  );
  return createChannel(config.channels[0] as (typeof config.channels)[0], silent);
}

const CLOUD = { url: 'https://acme.atlassian.net', email: 'bot@acme.com', api_token_env: 'JIRA_API_TOKEN' };
const DC = { url: 'https://jira.acme.com', personal_access_token_env: 'JIRA_PAT' };

describe('render (pure)', () => {
  const expectedFields = {
    project: { key: 'LIC' },
    issuetype: { name: 'Task' },
    summary:
      'CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.',
    description: expect.anything(),
    priority: { name: 'High' },
    components: [{ name: 'Licensing' }],
    customfield_10010: 'platform',
    labels: ['license-monitor', IDENTITY],
  };

  it('Cloud (auto on *.atlassian.net): search/jql, then the issue with an ADF description', () => {
    const requests = renderChannel(CLOUD).render(eventOf(fixture('firing')));
    expect(requests.map((r) => r.action)).toEqual(['POST /rest/api/3/search/jql', 'POST /rest/api/3/issue']);
    expect(requests[0]?.body).toEqual({
      jql: `project = "LIC" AND labels = "${IDENTITY}" ORDER BY created DESC`,
      fields: ['status', 'resolution', 'resolutiondate'],
      maxResults: 1,
    });
    const { fields } = bodyOf(requests[1]) as { fields: Json };
    expect(fields).toEqual(expectedFields);
    const doc = fields.description as AdfNode;
    expect(isAdfDocument(doc)).toBe(true);
    expect(doc.content?.map((n) => n.type)).toEqual([
      'paragraph', // summary
      'paragraph', // description
      'bulletList', // facts
      'heading', // What to do
      'orderedList', // the mitigation steps
      'heading', // Escalation
      'paragraph',
      'heading', // Alerts
      'bulletList',
      'heading', // Links
      'bulletList',
      'paragraph', // identity
    ]);
    expect(doc.content?.[3]?.content?.[0]?.text).toBe(
      'What to do (from the runbook CalicoLicenseExpiringSoon.md)',
    );
    const step2 = doc.content?.[4]?.content?.[1];
    expect(step2?.content?.map((n) => n.type)).toEqual(['paragraph', 'codeBlock']);
    expect(step2?.content?.[1]).toEqual({
      type: 'codeBlock',
      attrs: { language: 'sh' },
      content: [
        { type: 'text', text: '# on the management cluster\nkubectl apply -f <customer>-license.yaml' },
      ],
    });
    expect(doc.content?.[0]?.content?.[0]).toEqual({
      type: 'text',
      text: 'The Calico Enterprise licence expires in less than 30 days.',
      marks: [{ type: 'strong' }],
    });
  });

  it('Data Center (auto elsewhere): /rest/api/2/search, then the issue with a wiki markup description', () => {
    const requests = renderChannel(DC).render(eventOf(fixture('firing')));
    expect(requests.map((r) => r.action)).toEqual(['POST /rest/api/2/search', 'POST /rest/api/2/issue']);
    expect(bodyOf(requests[0]).startAt).toBe(0);
    const { fields } = bodyOf(requests[1]) as { fields: Json };
    expect(fields).toEqual(expectedFields);
    const wiki = fields.description as string;
    const lines = wiki.split('\n');
    expect(lines[0]).toBe('*The Calico Enterprise licence expires in less than 30 days.*');
    expect(lines).toContain('h3. What to do (from the runbook CalicoLicenseExpiringSoon.md)');
    expect(lines).toContain(
      '# Ask the *contract owner* to renew with Tigera (about 1–2 days after the purchase order).',
    );
    expect(wiki).toContain(
      '# Apply the renewed licence: \\\\ {{\\# on the management cluster}} \\\\ {{kubectl apply \\-f <customer>\\-license.yaml}}\n',
    );
    expect(lines).toContain('* [Runbook|https://runbooks.example.com/CalicoLicenseExpiringSoon]');
    expect(lines).toContain('h3. Links');
    expect(wiki).toContain('Identity: {{ALERT\\{6a5487e96aff1444b670340bf2c5e492\\}}}.');
    // Alert text is escaped: the dates' dashes do not strike through.
    expect(wiki).toContain('expires on 2026\\-12\\-10');
  });

  it('explicit api wins over the host; resolve and reopen are GET, transitions, transition, comment', () => {
    const channel = renderChannel({ ...DC, api: 'datacenter' });
    const ref = { key: 'LIC-7', id: '10007', url: 'https://jira.acme.com/browse/LIC-7' };
    const shown = (state: 'open' | 'closed', r: Json): DeliveryRecord => ({
      state,
      ref: r,
      firing: ['a1b2c3d4e5f60718'],
      openedAt: NOW - DAY,
      updatedAt: NOW - DAY,
    });
    const resolve = channel.render(eventOf(fixture('resolved'), shown('open', ref)), { ...ref });
    expect(resolve.map((r) => r.action)).toEqual([
      'GET /rest/api/2/issue/10007?fields=status,resolution,resolutiondate',
      'GET /rest/api/2/issue/10007/transitions',
      'POST /rest/api/2/issue/10007/transitions',
      'POST /rest/api/2/issue/10007/comment',
    ]);
    expect(resolve[2]?.body).toEqual({ transition: { id: '<id of "Done">' } });
    const recent = { ...ref, resolvedAt: NOW - DAY };
    const reopen = channel.render(eventOf(fixture('firing'), shown('closed', recent)), recent);
    expect(reopen.map((r) => r.action)).toEqual([
      'GET /rest/api/2/issue/10007?fields=status,resolution,resolutiondate',
      'GET /rest/api/2/issue/10007/transitions',
      'POST /rest/api/2/issue/10007/transitions',
      'POST /rest/api/2/issue/10007/comment',
    ]);
    expect(reopen[2]?.body).toEqual({ transition: { id: '<id of "To Do">' } });
    const old = { ...ref, resolvedAt: NOW - 8 * DAY };
    const after = channel.render(eventOf(fixture('firing'), shown('closed', old)), old);
    expect(after.map((r) => r.action)).toEqual([
      'GET /rest/api/2/issue/10007?fields=status,resolution,resolutiondate',
      'POST /rest/api/2/issue',
      'POST /rest/api/2/issueLink',
    ]);
    expect(after[1]?.body).toMatchObject({
      fields: {
        description: expect.stringContaining(
          'This alert fired before: [LIC\\-7|https://jira.acme.com/browse/LIC-7].',
        ),
      },
    });
  });

  it.each([
    ['200 alerts', () => manyAlerts(200)],
    ['a 100 KB annotation', () => hugeAnnotation(100 * 1024)],
  ])('%s: the description fits 32,767 characters on both APIs', (_name, payload) => {
    const event = eventOf(payload());
    for (const target of [CLOUD, DC]) {
      const [, create] = renderChannel(target).render(event);
      const description = (bodyOf(create) as { fields: Json }).fields.description;
      const size = typeof description === 'string' ? description.length : JSON.stringify(description).length;
      expect(size).toBeGreaterThan(1000);
      expect(size).toBeLessThanOrEqual(32_767);
      if (typeof description !== 'string') expect(isAdfDocument(description)).toBe(true);
    }
  });

  it('JQL strings escape " and \\ (as the fake’s JQL parser reads them back)', () => {
    expect(jqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
    const q = parseJql(findJql({ project: 'LIC' }, 'ALERT{we"ird\\}'));
    expect(q.clauses.map((c) => [c.field, c.values])).toEqual([
      ['project', ['LIC']],
      ['labels', ['ALERT{we"ird\\}']],
    ]);
    expect(q.order).toBe('DESC');
  });

  it("Jira's error shape and time format", () => {
    expect(
      describeJira({ errorMessages: ['First.', 'Second.'], errors: { labels: 'Not on the screen.' } }),
    ).toBe('First.; Second.; labels: Not on the screen.');
    expect(describeJira('<html><body><h1>502 Bad Gateway</h1></body></html>')).toBe('502 Bad Gateway');
    expect(describeJira({})).toBeUndefined();
    expect(jiraTime('2026-11-28T14:00:00.000+0000')).toBe(Date.parse('2026-11-28T14:00:00Z'));
    expect(jiraTime('2026-11-28T14:00:00.000+0130')).toBe(Date.parse('2026-11-28T12:30:00Z'));
    expect(jiraTime(null)).toBeUndefined();
  });
});
