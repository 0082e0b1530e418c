// The GitHub Issues channel end to end: the receiver in-process against the fake GitHub REST API
// (webhook → outbox → delivery → issues, comments, state changes), its rate limits and errors, and the
// requests it would make for a licence alert (render).
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../test/fakes/github-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { classifyGitHub, describeGitHub } from '../src/channels/github/index.js';
import { createChannel } from '../src/channels/index.js';
import { parseConfig } from '../src/config.js';
import type { DeliveryEvent, DeliveryRecord } from '../src/outbox/plan.js';
import { type RunningReceiver, startReceiver } from '../src/receiver.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture, RUNBOOKS_DIR, since, withAlerts } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness, TOKEN } from './harness.js';

type Json = Record<string, unknown>;
const DAY = 86_400_000;
const ISSUES = /^\/repos\/acme\/licences\/issues$/;
const ISSUE_1 = 'https://github.com/acme/licences/issues/1';
const TITLE =
  'CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.';

let gh: FakeGitHub;
let h: Harness | undefined;
beforeAll(async () => {
  gh = await FakeGitHub.start();
});
afterEach(async () => {
  if (!h) return;
  await h.stop();
  h = undefined;
  gh.reset();
});
afterAll(async () => {
  await gh.close();
  cleanupPki();
});

function githubChannel(extra: Json = {}): Json {
  return {
    name: 'tickets',
    type: 'github',
    api_url: gh.url,
    repository: 'acme/licences',
    token_env: 'GH_TOKEN',
    labels: ['alert', 'licence'],
    severity_labels: { critical: 'severity:critical', warning: 'severity:warning' },
    rate_limit: { per_second: 50, burst: 50 },
    timeout: '2s',
    ...extra,
  };
}

async function start(extra: Json = {}, channels = [githubChannel(extra)]): Promise<Harness> {
  h = await startHarness({ channels, env: { GH_TOKEN: gh.token, WRONG_TOKEN: 'ghp_wrong' } });
  return h;
}

/** The firing fixture with a second alert of the same group (another package). */
function withSecondAlert(): Json {
  const firing = fixture('firing');
  const [first] = firing.alerts as Json[];
  const second = {
    ...first,
    labels: { ...(first?.labels as Json), package: 'Cloud' },
    fingerprint: 'b2c3d4e5f6071829',
  };
  return withAlerts(firing, [second]);
}

const identityOf = (n: number) =>
  gh
    .issue(n)
    ?.labels.map((l) => l.name)
    .find((l) => /^ALERT\{[0-9a-f]{32}\}$/.test(l));

describe('GitHub issue lifecycle', () => {
  // One receiver for the whole story (not `h`: it outlives each step); each step builds on the last.
  let story: Harness | undefined;
  let identity: string | undefined;
  beforeAll(async () => {
    story = await startHarness({ channels: [githubChannel()], env: { GH_TOKEN: gh.token } });
  });
  afterAll(async () => {
    await story?.stop();
    gh.reset();
  });

  async function deliver(payload: Json): Promise<void> {
    expect((await story?.post(payload))?.status).toBe(200);
    await story?.drained();
  }

  it('1. a firing group opens one issue: summary, remediation, values, links, identity label', async () => {
    await deliver(fixture('firing'));
    expect(gh.issues()).toHaveLength(1);
    const issue = gh.issue(1);
    identity = identityOf(1);
    expect(identity).toBeDefined();
    expect(issue?.title).toBe(TITLE);
    expect(issue?.state).toBe('open');
    expect(issue?.labels.map((l) => l.name)).toEqual(['alert', 'licence', 'severity:warning', identity]);
    const body = issue?.body ?? '';
    expect(body).toContain('1. Ask the **contract owner** to renew with Tigera');
    expect(body).toContain('kubectl apply -f <customer>-license.yaml');
    expect(body).toContain('[Runbook](https://runbooks.example.com/CalicoLicenseExpiringSoon)');
    expect(body).toContain('[Silence](http://alertmanager.example.com:9093/#/silences/new?filter=');
    expect(body).toContain(`Identity: \`${identity}\``);
    const [create] = gh.callsTo('POST', ISSUES);
    expect(create?.accept).toBe('application/vnd.github+json');
    expect(create?.apiVersion).toBe('2022-11-28');
  });

  it('2. a change comments on the issue and opens no other', async () => {
    await deliver(withSecondAlert());
    expect(gh.issues()).toHaveLength(1);
    const comments = gh.comments(1);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatch(/^\*\*Update: 1 new alert firing, 2 firing now\.\*\*/);
    expect(comments[0]).toContain('### Now firing');
  });

  it('3. resolve closes the issue as completed with a comment saying how long it fired', async () => {
    await deliver(fixture('resolved'));
    const issue = gh.issue(1);
    expect([issue?.state, issue?.state_reason]).toEqual(['closed', 'completed']);
    expect(gh.comments(1).at(-1)).toMatch(/^\*\*Resolved at .+ after firing for [\dhmsd ]+\.\*\*/);
    // The comment comes before the close, so that the close is the last thing the issue shows.
    const comment = gh.callsTo('POST', /\/issues\/1\/comments$/).at(-1);
    const close = gh.callsTo('PATCH', /\/issues\/1$/).at(-1);
    expect(close?.body).toEqual({ state: 'closed', state_reason: 'completed' });
    expect((comment?.at ?? 0) <= (close?.at ?? 0)).toBe(true);
  });

  it('4. firing again within the reopen window reopens the same issue with a comment', async () => {
    await deliver(since('firing', '2026-11-28T12:00:00Z'));
    expect(gh.issues()).toHaveLength(1);
    const issue = gh.issue(1);
    expect([issue?.state, issue?.state_reason]).toEqual(['open', 'reopened']);
    expect(gh.comments(1).at(-1)).toMatch(
      /^\*\*Firing again since .+: license-monitor reopened this ticket\.\*\*/,
    );
    expect(gh.callsTo('PATCH', /\/issues\/1$/).at(-1)?.body).toEqual({
      state: 'open',
      state_reason: 'reopened',
    });
  });

  it('5. firing after the window opens a new issue that names the old one', async () => {
    await deliver(since('resolved', '2026-11-28T12:00:00Z'));
    expect(gh.issue(1)?.state).toBe('closed');
    gh.backdateClosed(1, 8 * DAY);
    await deliver(since('firing', '2026-11-28T13:00:00Z'));
    expect(gh.issues()).toHaveLength(2);
    expect(gh.issue(1)?.state).toBe('closed');
    const second = gh.issue(2);
    expect(second?.state).toBe('open');
    expect(identityOf(2)).toBe(identity);
    expect(second?.body).toContain(`This alert fired before: [#1](${ISSUE_1}).`);
  });

  it('6. an issue closed as not planned is left alone, and the next firing opens a new one', async () => {
    gh.humanClose(2, 'not_planned');
    const patches = gh.callsTo('PATCH', /\/issues\/2$/).length;
    await deliver(since('resolved', '2026-11-28T13:00:00Z'));
    // Closed already: only the comment, the person's "not planned" stays.
    expect(gh.comments(2).at(-1)).toMatch(/^\*\*Resolved at /);
    expect(gh.callsTo('PATCH', /\/issues\/2$/)).toHaveLength(patches);
    expect(gh.issue(2)?.state_reason).toBe('not_planned');
    await deliver(since('firing', '2026-11-28T14:00:00Z'));
    expect(gh.issues()).toHaveLength(3);
    expect(gh.issue(2)?.state).toBe('closed');
    expect(gh.issue(3)?.state).toBe('open');
    expect(gh.issue(3)?.body).toContain(
      'This alert fired before: [#2](https://github.com/acme/licences/issues/2).',
    );
  });
});

describe('GitHub duplicates', () => {
  it('7. the same payload posted twice at once (an HA pair) opens one issue', async () => {
    const { post, drained } = await start();
    const body = fixture('firing');
    const answers = await Promise.all([post(body), post(body)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await drained();
    await new Promise((r) => setTimeout(r, 150)); // nothing else arrives
    expect(gh.issues()).toHaveLength(1);
    expect(gh.callsTo('POST', ISSUES)).toHaveLength(1);
  });

  it('10. a create answered only after the channel timeout still makes exactly one issue', async () => {
    const { post, drained } = await start({ timeout: '300ms' });
    gh.failNext({ delayMs: 1000 }, 1, { method: 'POST', path: ISSUES });
    await post(fixture('firing'));
    await drained(10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(gh.issues()).toHaveLength(1);
    expect(gh.callsTo('POST', ISSUES)).toHaveLength(1);
    // The retry found the issue of the unanswered create through the list and took it as its own.
    expect(gh.comments(1)).toEqual([]);
  });

  it('11. after a restart, a change still comments on the issue the receiver opened (SQLite record)', async () => {
    const harness = await start();
    await harness.post(fixture('firing'));
    await harness.drained();
    await harness.receiver.stop();
    const lists = gh.callsTo('GET', ISSUES).length;
    const again: RunningReceiver = await startReceiver(harness.config, pino({ level: 'silent' }));
    try {
      const res = await fetch(`${again.url}/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(withSecondAlert()),
      });
      expect(res.status).toBe(200);
      await waitFor(() => gh.comments(1).length === 1, 5000, 'the update comment');
      expect(gh.issues()).toHaveLength(1);
      expect(gh.comments(1)[0]).toMatch(/^\*\*Update: 1 new alert firing/);
      // The record said which issue: no list request was needed.
      expect(gh.callsTo('GET', ISSUES)).toHaveLength(lists);
    } finally {
      await again.stop();
    }
  });
});

describe('GitHub rate limits and errors', () => {
  it('8. a 429 with Retry-After 1 is retried after a second and delivered once', async () => {
    const { post, drained } = await start();
    gh.failNext({ status: 429, retryAfter: 1 }, 1, { method: 'POST', path: ISSUES });
    await post(fixture('firing'));
    await drained(10_000);
    const creates = gh.callsTo('POST', ISSUES);
    expect(creates.map((c) => c.status)).toEqual([429, 201]);
    expect((creates[1]?.at ?? 0) - (creates[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(gh.issues()).toHaveLength(1);
  });

  it('waits for x-ratelimit-reset when the primary budget is spent, then delivers once', async () => {
    const { post, drained, receiver } = await start();
    gh.exhaustPrimary(1);
    const refill = Date.now() + 1000;
    await post(fixture('firing'));
    await drained(10_000);
    const answered = gh.calls.filter((c) => c.status !== 403);
    expect(gh.calls.filter((c) => c.status === 403)).toHaveLength(1);
    expect(answered[0]?.at ?? 0).toBeGreaterThanOrEqual(refill);
    expect(gh.issues()).toHaveLength(1);
    expect(await receiver.store.dead()).toEqual([]);
  });

  it('waits for retry-after on a secondary rate limit, then delivers once', async () => {
    const { post, drained } = await start();
    gh.triggerSecondary(1);
    await post(fixture('firing'));
    await drained(10_000);
    const creates = gh.callsTo('POST', ISSUES);
    expect(creates.map((c) => c.status)).toEqual([403, 201]);
    expect((creates[1]?.at ?? 0) - (creates[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(gh.issues()).toHaveLength(1);
  });

  it('9. a permission 403 is dead-lettered with GitHub’s message, not retried', async () => {
    const { post, receiver } = await start();
    gh.failNext({ status: 403, message: 'Resource not accessible by integration' }, 1, {
      method: 'POST',
      path: ISSUES,
    });
    await post(fixture('firing'));
    await waitFor(async () => (await receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await receiver.store.dead();
    expect(dead?.error).toBe(
      'GitHub answered HTTP 403 for acme/licences: Resource not accessible by integration (the token needs issues=write)',
    );
    expect(gh.callsTo('POST', ISSUES)).toHaveLength(1);
    expect(gh.issues()).toEqual([]);
  });

  it('dead-letters a bad token, a repository the token cannot see and a label GitHub refuses', async () => {
    const { post, receiver } = await start({}, [
      githubChannel({ name: 'bad-token', token_env: 'WRONG_TOKEN' }),
      githubChannel({ name: 'no-repo', repository: 'acme/missing' }),
      githubChannel({ name: 'long-label', severity_labels: { warning: `sev-${'w'.repeat(60)}` } }),
    ]);
    await post(fixture('firing'));
    await waitFor(async () => (await receiver.store.dead()).length === 3, 5000, 'three dead rows');
    const errors = Object.fromEntries((await receiver.store.dead()).map((d) => [d.channel, d.error]));
    expect(errors).toEqual({
      'bad-token': 'GitHub answered HTTP 401 for acme/licences: Bad credentials (check the token)',
      'no-repo': expect.stringMatching(
        /^GitHub answered HTTP 404 to GET \/repos\/acme\/missing\/issues\?labels=.+: Not Found \(repository acme\/missing not found or the token cannot see it\)$/,
      ),
      'long-label':
        'GitHub answered HTTP 422 to POST /repos/acme/licences/issues: Validation Failed (Label.name invalid)',
    });
    expect(gh.issues()).toEqual([]);
  });
});

describe('GitHub verdicts (pure)', () => {
  const answer = (status: number, headers: Record<string, string>, body: unknown) => ({
    status,
    headers: new Headers(headers),
    body,
  });
  const NOW = 1_800_000_000_000;

  it('tells rate limits from permissions', () => {
    const primary = classifyGitHub(
      answer(
        403,
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 30) },
        {
          message: 'API rate limit exceeded for user ID 1.',
        },
      ),
      'acme/licences',
      NOW,
    );
    expect([primary?.retryable, primary?.retryAfterMs]).toEqual([true, 31_000]);
    const secondary = classifyGitHub(
      answer(403, {}, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes.' }),
      'acme/licences',
      NOW,
    );
    expect([secondary?.retryable, secondary?.retryAfterMs]).toEqual([true, 60_000]);
    const waitSaid = classifyGitHub(
      answer(429, { 'retry-after': '7' }, { message: 'slow down' }),
      'a/b',
      NOW,
    );
    expect([waitSaid?.retryable, waitSaid?.retryAfterMs]).toEqual([true, 7000]);
    const denied = classifyGitHub(
      answer(403, { 'x-ratelimit-remaining': '4999' }, { message: 'Resource not accessible by integration' }),
      'acme/licences',
      NOW,
    );
    expect([denied?.retryable, denied?.message]).toEqual([
      false,
      'GitHub answered HTTP 403 for acme/licences: Resource not accessible by integration',
    ]);
    expect(classifyGitHub(answer(500, {}, { message: 'Server Error' }), 'a/b', NOW)).toBeUndefined();
    expect(classifyGitHub(answer(422, {}, { message: 'Validation Failed' }), 'a/b', NOW)).toBeUndefined();
  });

  it('describes GitHub errors in its own words', () => {
    expect(
      describeGitHub({
        message: 'Validation Failed',
        errors: [
          {
            resource: 'Issue',
            field: 'title',
            code: 'custom',
            message: 'title is too long (maximum is 256 characters)',
          },
          { resource: 'Label', field: 'name', code: 'invalid' },
          'assignees is invalid',
        ],
      }),
    ).toBe(
      'Validation Failed (Issue.title custom: title is too long (maximum is 256 characters); Label.name invalid; assignees is invalid)',
    );
    expect(describeGitHub('<html>')).toBeUndefined();
  });
});

describe('GitHub render', () => {
  const NOW = Date.parse('2026-11-28T12:00:00Z');
  const config = parseConfig(
    {
      runbooks_dir: RUNBOOKS_DIR,
      channels: [
        {
          name: 'tickets',
          type: 'github',
          repository: 'acme/licences',
          token_env: 'GH_TOKEN',
          severity_labels: { warning: 'severity:warning' },
          assignees: ['octocat'],
        },
      ],
      default_channels: ['tickets'],
    },
    '/etc/receiver.yaml',
    { secrets: false },
  );
  const channel = createChannel(config.channels[0] as (typeof config.channels)[0], pino({ level: 'silent' }));

  function event(body: Json, record?: DeliveryRecord): DeliveryEvent {
    return plannedEvent(body, { record, now: NOW });
  }

  it('a first firing: find by the identity label, then create the issue', () => {
    const e = event(fixture('firing'));
    const identity = `ALERT{${e.group.id}}`;
    const requests = channel.render(e);
    expect(requests.map((r) => r.action)).toEqual([
      `GET /repos/acme/licences/issues?labels=${encodeURIComponent(identity)}&state=all&sort=created&direction=desc&per_page=1`,
      'POST /repos/acme/licences/issues',
    ]);
    expect(requests[0]?.body).toBeNull();
    const create = requests[1]?.body as {
      title: string;
      body: string;
      labels: string[];
      assignees: string[];
    };
    expect(create.title).toBe(TITLE);
    expect(create.labels).toEqual(['alert', 'severity:warning', identity]);
    expect(create.assignees).toEqual(['octocat']);
    expect(create.body.split('\n\n').slice(0, 3)).toEqual([
      '**The Calico Enterprise licence expires in less than 30 days.**',
      'The licence of cluster prod expires on 2026-12-10 (12 days left). 95 of 100 licensed nodes are in use.',
      ['- **Severity:** warning', '- **Cluster:** prod', '- **Started:** 2026-11-28 08:00 UTC'].join('\n'),
    ]);
    expect(create.body).toContain(
      [
        '### What to do (from the runbook CalicoLicenseExpiringSoon.md)',
        '',
        '1. Ask the **contract owner** to renew with Tigera (about 1–2 days after the purchase order).',
        '2. Apply the renewed licence:',
      ].join('\n'),
    );
    expect(create.body).toMatch(
      new RegExp(`Identity: \`${identity.replace(/[{}]/g, '\\$&')}\`\\. Do not remove the identity`),
    );
  });

  it('an open issue: a change is one comment; a resolve reads the state, comments and closes', () => {
    const ref = { key: '#7', id: '7', url: 'https://github.com/acme/licences/issues/7' };
    const record: DeliveryRecord = {
      state: 'open',
      ref,
      firing: ['a1b2c3d4e5f60718'],
      openedAt: NOW - 3_600_000,
      updatedAt: NOW - 3_600_000,
    };
    const update = channel.render(event(withSecondAlert(), record), ref);
    expect(update).toEqual([
      {
        action: 'POST /repos/acme/licences/issues/7/comments',
        body: {
          body: expect.stringMatching(
            /^\*\*Update: 1 new alert firing, 2 firing now\.\*\*\n\n### Now firing/,
          ),
        },
      },
    ]);
    const resolve = channel.render(event(fixture('resolved'), record), ref);
    expect(resolve.map((r) => r.action)).toEqual([
      'GET /repos/acme/licences/issues/7',
      'POST /repos/acme/licences/issues/7/comments',
      'PATCH /repos/acme/licences/issues/7',
    ]);
    expect(resolve[2]?.body).toEqual({ state: 'closed', state_reason: 'completed' });
  });

  it('a resolved issue: firing again reads it and reopens it within the window, else names it in a new one', () => {
    const closed = (resolvedAt: number): DeliveryRecord => ({
      state: 'closed',
      ref: { key: '#7', id: '7', url: 'https://github.com/acme/licences/issues/7', resolvedAt },
      firing: [],
      openedAt: resolvedAt - 3_600_000,
      updatedAt: resolvedAt,
    });
    const recent = closed(NOW - DAY);
    const reopen = channel.render(event(fixture('firing'), recent), recent.ref);
    expect(reopen.map((r) => [r.action, r.body])).toEqual([
      ['GET /repos/acme/licences/issues/7', null],
      ['PATCH /repos/acme/licences/issues/7', { state: 'open', state_reason: 'reopened' }],
      [
        'POST /repos/acme/licences/issues/7/comments',
        {
          body: expect.stringMatching(
            /^\*\*Firing again since 2026-11-28 08:00 UTC: license-monitor reopened/,
          ),
        },
      ],
    ]);
    const old = closed(NOW - 8 * DAY);
    const renewed = channel.render(event(fixture('firing'), old), old.ref);
    expect(renewed.map((r) => r.action)).toEqual([
      'GET /repos/acme/licences/issues/7',
      'POST /repos/acme/licences/issues',
    ]);
    expect((renewed[1]?.body as { body: string } | undefined)?.body).toContain(
      'This alert fired before: [#7](https://github.com/acme/licences/issues/7).',
    );
  });
});
