// The ServiceNow channel end to end: webhook → outbox → delivery loop → the fake ServiceNow Table API.
// One incident per alert group (correlation id), work notes, resolve, reopen, a new incident after the
// reopen window or a "won't fix", duplicates, faults; and the exact request bodies of a licence alert.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeServiceNow, type FakeServiceNowOptions } from '../../test/fakes/servicenow-api.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { parseWebhookPayload } from '../src/alertmanager.js';
import { createChannel } from '../src/channels/index.js';
import type { ServiceNowChannelSettings } from '../src/channels/servicenow/config.js';
import { describeError } from '../src/channels/servicenow/index.js';
import type { ChannelSettings } from '../src/config.js';
import { groupIdentity } from '../src/outbox/idempotency.js';
import type { DeliveryEvent, DeliveryRecord } from '../src/outbox/plan.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture, hugeAnnotation, manyAlerts, withAlerts } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness } from './harness.js';

type Json = Record<string, unknown>;
const HOUR = 3_600_000;

let h: Harness | undefined;
let sn: FakeServiceNow | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.stop();
  await sn?.close();
  h = undefined;
  sn = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => cleanupPki());

interface Setup {
  channel?: Json;
  config?: Json;
  fake?: FakeServiceNowOptions;
}

async function startFake(options: FakeServiceNowOptions = {}): Promise<FakeServiceNow> {
  sn = await FakeServiceNow.start(options);
  return sn;
}

async function startReceiver(fake: FakeServiceNow, setup: Setup = {}): Promise<Harness> {
  h = await startHarness({
    channels: [
      {
        name: 'servicenow',
        type: 'servicenow',
        url: fake.url,
        username: fake.username,
        password_env: 'SN_PASSWORD',
        reopen_window: '1h',
        rate_limit: { per_second: 50, burst: 50 },
        timeout: '2s',
        ...setup.channel,
      },
    ],
    env: { SN_PASSWORD: fake.password },
    ...(setup.config ? { config: setup.config } : {}),
  });
  return h;
}

async function start(setup: Setup = {}): Promise<{ h: Harness; sn: FakeServiceNow }> {
  const fake = await startFake(setup.fake);
  return { h: await startReceiver(fake, setup), sn: fake };
}

/** The firing licence alert, started at `startsAt`. */
function firing(startsAt = '2026-11-28T08:00:00Z'): Json {
  const body = fixture('firing');
  for (const a of body.alerts as Json[]) a.startsAt = startsAt;
  return body;
}

/** The licence alert resolved at `endsAt`. */
function resolved(startsAt = '2026-11-28T08:00:00Z', endsAt = '2026-11-28T10:30:00Z'): Json {
  const body = fixture('resolved');
  for (const a of body.alerts as Json[]) Object.assign(a, { startsAt, endsAt });
  return body;
}

async function send(harness: Harness, body: Json): Promise<void> {
  const res = await harness.post(body);
  expect(res.status).toBe(200);
  await harness.drained();
}

const groupIdOf = (body: Json) => {
  const parsed = parseWebhookPayload(body);
  if (!parsed.ok) throw new Error('bad fixture');
  return groupIdentity(parsed.payload, parsed.payload.receiver ?? '').id;
};
const IDENTITY = `ALERT{${groupIdOf(fixture('firing'))}}`;

const notes = (fake: FakeServiceNow, id: string) =>
  fake
    .journal(id)
    .filter((e) => e.field === 'work_notes')
    .map((e) => e.value);

describe('ServiceNow incident lifecycle', () => {
  it('first firing: one incident with the summary, the runbook, the values, the links and the correlation id', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    const incidents = sn.incidents();
    expect(incidents).toHaveLength(1);
    const inc = incidents[0] as NonNullable<(typeof incidents)[0]>;
    expect(inc).toMatchObject({
      number: 'INC0010001',
      short_description:
        'CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.',
      state: '1',
      urgency: '2', // warning → "2" (the default urgency map)
      impact: '2',
      correlation_id: IDENTITY,
      correlation_display: 'license-monitor',
    });
    expect(IDENTITY).toMatch(/^ALERT\{[0-9a-f]{32}\}$/);
    const d = inc.description;
    expect(d).toContain('The licence of cluster prod expires on 2026-12-10 (12 days left).');
    expect(d).toContain('Ask the contract owner to renew with Tigera');
    expect(d).toContain('    kubectl apply -f <customer>-license.yaml');
    expect(d).not.toContain('Nothing here belongs to the Mitigation section');
    expect(d).toContain('(https://runbooks.example.com/CalicoLicenseExpiringSoon)');
    expect(d).toContain('graph (http://prometheus.example.com:9090/graph?g0.expr=');
    expect(d).toContain(`Identity: ${IDENTITY}.`);
    // Plain text: no markup of any other system.
    expect(d).not.toMatch(/\*\*|\{\{|h3\. /);
    // The search that came first asked for the newest incident of the identity, reference links off.
    const [find] = sn.callsTo('GET', /^\/api\/now\/table\/incident$/);
    expect(find?.query).toEqual({
      sysparm_query: `correlation_id=${IDENTITY}^ORDERBYDESCsys_created_on`,
      sysparm_limit: '1',
      sysparm_fields: 'sys_id,number,state,resolved_at,closed_at,close_code',
      sysparm_exclude_reference_link: 'true',
    });
    expect(sn.warnings).toEqual([]);
  });

  it('a change adds a work note to the incident, no new incident', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    const base = fixture('firing');
    const [alert] = base.alerts as Json[];
    const joined = {
      ...alert,
      labels: { ...(alert?.labels as Json), node: 'node-7' },
      fingerprint: 'b1b2c3d4e5f60718',
      startsAt: '2026-11-28T09:00:00Z',
    };
    await send(h, withAlerts(base, [joined]));
    expect(sn.incidents()).toHaveLength(1);
    const written = notes(sn, 'INC0010001');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^Update: 1 new alert firing, 2 firing now\./);
    expect(written[0]).toContain('Now firing:');
    expect(written[0]).toContain('node=node-7');
    expect(sn.warnings).toEqual([]);
  });

  it('resolve: state Resolved, the close code and close notes that say how long it fired', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    await send(h, resolved());
    const inc = sn.incident('INC0010001');
    expect(inc).toMatchObject({ state: '6', close_code: 'Solved (Permanently)' });
    expect(inc?.resolved_at).not.toBe('');
    expect(inc?.close_notes).toMatch(/^Resolved at 2026-11-28 10:30 UTC after firing for \d+[smhd]/);
    expect(inc?.close_notes).toContain('license-monitor resolved this ticket');
    expect(notes(sn, 'INC0010001')).toEqual([inc?.close_notes]);
    expect(sn.warnings).toEqual([]);
  });

  it('fires again within the reopen window: the same incident goes back to In Progress with a note', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    await send(h, resolved());
    await send(h, firing('2026-11-28T11:00:00Z'));
    expect(sn.incidents()).toHaveLength(1);
    const inc = sn.incident('INC0010001');
    expect(inc).toMatchObject({ state: '2', reopen_count: '1', resolved_at: '' });
    const written = notes(sn, 'INC0010001');
    expect(written).toHaveLength(2);
    expect(written[1]).toMatch(
      /^Firing again since 2026-11-28 11:00 UTC: license-monitor reopened this ticket\./,
    );
    // The local record knew the incident: no search, a read of the incident instead.
    expect(sn.callsTo('GET', /^\/api\/now\/table\/incident$/)).toHaveLength(1);
    expect(sn.warnings).toEqual([]);
  });

  it('fires again after the reopen window: a new incident that names the old one', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    await send(h, resolved());
    await send(h, firing('2026-11-28T11:00:00Z')); // reopened
    await send(h, resolved('2026-11-28T11:00:00Z', '2026-11-28T12:00:00Z'));
    sn.backdateResolution('INC0010001', 2 * HOUR); // the window is 1h
    await send(h, firing('2026-11-28T13:00:00Z'));
    const incidents = sn.incidents();
    expect(incidents.map((i) => [i.number, i.state])).toEqual([
      ['INC0010001', '6'],
      ['INC0010002', '1'],
    ]);
    const [old, fresh] = incidents as [(typeof incidents)[0], (typeof incidents)[0]];
    expect(fresh.correlation_id).toBe(IDENTITY);
    expect(fresh.description).toContain(
      `This alert fired before: INC0010001 (${sn.url}/nav_to.do?uri=incident.do?sys_id=${old.sys_id}).`,
    );
    expect(notes(sn, 'INC0010002')).toEqual([]);
    expect(sn.warnings).toEqual([]);
  });

  it("resolved by a person with a won't-fix close code: firing again opens a new incident", async () => {
    const { h, sn } = await start({ channel: { wont_fix_close_codes: ['Not Solved (Too Costly)'] } });
    await send(h, fixture('firing'));
    await send(h, resolved());
    sn.humanResolve('INC0010001', 'Not Solved (Too Costly)', 'We will not renew this licence.');
    await send(h, firing('2026-11-28T11:00:00Z')); // well within the window
    expect(sn.incidents().map((i) => [i.number, i.state])).toEqual([
      ['INC0010001', '6'],
      ['INC0010002', '1'],
    ]);
    expect(sn.incident('INC0010002')?.description).toContain('This alert fired before: INC0010001');
    expect(sn.incident('INC0010001')?.close_code).toBe('Not Solved (Too Costly)');
    expect(sn.warnings).toEqual([]);
  });

  it('closed by a person (state Closed cannot be reopened): firing again opens a new incident', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    await send(h, resolved());
    sn.humanClose('INC0010001');
    await send(h, firing('2026-11-28T11:00:00Z'));
    expect(sn.incidents().map((i) => [i.number, i.state])).toEqual([
      ['INC0010001', '7'],
      ['INC0010002', '1'],
    ]);
    expect(sn.calls.filter((c) => c.status >= 400)).toEqual([]);
    expect(sn.warnings).toEqual([]);
  });

  it('closed by a person while firing: the resolve writes nothing and is not dead-lettered', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    sn.humanResolve('INC0010001', 'Solved (Work Around)', 'Renewed by hand.');
    sn.humanClose('INC0010001');
    await send(h, resolved());
    expect(sn.callsTo('PATCH', /incident\//)).toEqual([]);
    expect(await h.receiver.store.dead()).toEqual([]);
    expect(sn.incident('INC0010001')).toMatchObject({ state: '7', close_code: 'Solved (Work Around)' });
  });

  it('resolved by a person already: the resolve only adds a work note, their close code stays', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    sn.humanResolve('INC0010001', 'Solved (Work Around)', 'Renewed by hand.');
    await send(h, resolved());
    expect(sn.incident('INC0010001')).toMatchObject({
      state: '6',
      close_code: 'Solved (Work Around)',
      close_notes: 'Renewed by hand.',
    });
    expect(notes(sn, 'INC0010001')).toHaveLength(1);
    expect(notes(sn, 'INC0010001')[0]).toMatch(/^Resolved at /);
  });

  it('closed by a person while firing: a change opens a new incident naming the closed one', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    sn.humanResolve('INC0010001', 'Solved (Work Around)', 'Renewed by hand.');
    sn.humanClose('INC0010001');
    await send(h, withAlerts(fixture('firing'), [otherAlert()]));
    expect(sn.incidents().map((i) => [i.number, i.state])).toEqual([
      ['INC0010001', '7'],
      ['INC0010002', '1'],
    ]);
    expect(sn.incident('INC0010002')?.description).toContain('This alert fired before: INC0010001');
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('an incident deleted in ServiceNow: the next change opens a new one', async () => {
    const { h, sn } = await start();
    await send(h, fixture('firing'));
    const deleted = sn.incident('INC0010001')?.sys_id;
    sn.reset(); // the fake has no DELETE: forgetting every incident is the same for the channel
    await send(h, withAlerts(fixture('firing'), [otherAlert()]));
    const patches = sn.callsTo('PATCH', /incident\//);
    expect(patches.map((c) => [c.path, c.status])).toEqual([[`/api/now/table/incident/${deleted}`, 404]]);
    expect(sn.incidents()).toHaveLength(1);
    expect(sn.incidents()[0]?.sys_id).not.toBe(deleted);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('the same payload posted twice at once: exactly one incident', async () => {
    const { h, sn } = await start();
    const body = fixture('firing');
    const answers = await Promise.all([h.post(body), h.post(body)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await h.drained();
    await new Promise((r) => setTimeout(r, 200));
    expect(sn.incidents()).toHaveLength(1);
    expect(sn.callsTo('POST', /incident$/)).toHaveLength(1);
  });
});

function otherAlert(): Json {
  const [alert] = fixture('firing').alerts as Json[];
  return {
    ...alert,
    labels: { ...(alert?.labels as Json), node: 'node-9' },
    fingerprint: 'c1b2c3d4e5f60718',
  };
}

describe('ServiceNow faults', () => {
  it('429 with Retry-After 1: retried after a second, one incident', async () => {
    const { h, sn } = await start();
    sn.failNext({ status: 429, retryAfter: 1 }, 1, { method: 'POST' });
    await h.post(fixture('firing'));
    await h.drained(5000);
    const posts = sn.callsTo('POST', /incident$/);
    expect(posts.map((c) => c.status)).toEqual([429, 201]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(sn.incidents()).toHaveLength(1);
  });

  it('502 from the load balancer (HTML): retried, one incident', async () => {
    const { h, sn } = await start();
    sn.failNext({ status: 502 }, 1, { method: 'POST' });
    await send(h, fixture('firing'));
    expect(sn.callsTo('POST', /incident$/).map((c) => c.status)).toEqual([502, 201]);
    expect(sn.incidents()).toHaveLength(1);
  });

  it('a close code the instance refuses: the resolve is dead-lettered with the data policy message', async () => {
    const { h, sn } = await start({ channel: { close_code: 'Fixed by magic' } });
    await send(h, fixture('firing'));
    await h.post(resolved());
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await h.receiver.store.dead();
    const sysId = sn.incident('INC0010001')?.sys_id;
    expect(dead?.error).toBe(
      `ServiceNow answered HTTP 403 to PATCH /api/now/table/incident/${sysId}: ` +
        'Operation Failed: Data Policy Exception: Resolution code: invalid value',
    );
    expect(dead?.attempts).toBe(1);
    expect(sn.callsTo('PATCH', /incident\//)).toHaveLength(1);
    expect(sn.incident('INC0010001')?.state).toBe('1');
  });

  it('a wrong password is dead-lettered with ServiceNow’s words, not retried', async () => {
    const fake = await startFake();
    h = await startHarness({
      channels: [
        {
          name: 'servicenow',
          type: 'servicenow',
          url: fake.url,
          username: fake.username,
          password_env: 'SN_PASSWORD',
        },
      ],
      env: { SN_PASSWORD: 'not-the-password' },
    });
    const harness = h;
    await harness.post(fixture('firing'));
    await waitFor(async () => (await harness.receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await harness.receiver.store.dead();
    expect(dead?.error).toMatch(
      /^ServiceNow answered HTTP 401 to GET \/api\/now\/table\/incident\?.*: User Not Authenticated: Required to provide Auth information$/,
    );
    expect(fake.calls).toHaveLength(1);
  });

  it("a url that is not the instance: dead-lettered with ServiceNow's 404, not retried", async () => {
    const fake = await startFake();
    const harness = await startReceiver(fake, { channel: { url: `${fake.url}/sn` } });
    await harness.post(fixture('firing'));
    await waitFor(async () => (await harness.receiver.store.dead()).length === 1, 5000, 'the dead row');
    const [dead] = await harness.receiver.store.dead();
    expect(dead?.error).toMatch(
      /^ServiceNow answered HTTP 404 to GET \/api\/now\/table\/incident\?.*: Requested URI does not represent any resource$/,
    );
    expect(fake.calls).toHaveLength(1);
  });

  it('an OAuth bearer token works in place of a user and password', async () => {
    const fake = await startFake();
    h = await startHarness({
      channels: [{ name: 'servicenow', type: 'servicenow', url: fake.url, token_env: 'SN_TOKEN' }],
      env: { SN_TOKEN: fake.bearerToken },
    });
    await send(h, fixture('firing'));
    expect(fake.incidents()).toHaveLength(1);
  });

  it('a create answered after the timeout: still exactly one incident, adopted without a note', async () => {
    const { h, sn } = await start({ channel: { timeout: '300ms' } });
    sn.failNext({ delayMs: 800 }, 1, { method: 'POST' });
    await h.post(fixture('firing'));
    await h.drained(5000);
    await new Promise((r) => setTimeout(r, 700)); // the late answer arrives; nothing follows it
    expect(sn.incidents()).toHaveLength(1);
    expect(sn.callsTo('POST', /incident$/)).toHaveLength(1);
    expect(sn.callsTo('GET', /incident$/).length).toBeGreaterThanOrEqual(2);
    expect(notes(sn, 'INC0010001')).toEqual([]);
    expect(await h.receiver.store.dead()).toEqual([]);
  });

  it('a change after a receiver restart: the note goes to the same incident (the record is in SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-sn-'));
    dirs.push(dir);
    const config = { store: { path: join(dir, 'receiver.db') } };
    const fake = await startFake();
    const first = await startReceiver(fake, { config });
    await send(first, fixture('firing'));
    await first.stop();
    h = undefined;
    const second = await startReceiver(fake, { config });
    await send(second, withAlerts(fixture('firing'), [otherAlert()]));
    expect(fake.incidents()).toHaveLength(1);
    expect(notes(fake, 'INC0010001')).toHaveLength(1);
    expect(notes(fake, 'INC0010001')[0]).toMatch(/^Update: 1 new alert firing/);
    // The restarted receiver knew the incident from its record: it did not search again.
    expect(fake.callsTo('GET', /incident$/)).toHaveLength(1);
  });
});

describe('ServiceNow requests (render)', () => {
  const NOW = Date.parse('2026-11-28T12:00:00Z');
  const settings: ServiceNowChannelSettings = {
    name: 'servicenow',
    type: 'servicenow',
    url: 'https://example.service-now.com',
    username: 'svc-alerts',
    password: 'secret',
    reopenWindowMs: HOUR,
    reminderComments: false,
    maxAlerts: 50,
    rateLimit: { perSecond: 2, burst: 5 },
    timeoutMs: 10_000,
    urgency: { critical: '1', warning: '3' },
    impact: {},
    fields: { assignment_group: 'a1b2c3', category: 'software', correlation_id: 'cannot-replace' },
    resolveState: '6',
    reopenState: '2',
    closeCode: 'Solved (Permanently)',
    wontFixCloseCodes: [],
  };
  const channel = createChannel(settings as ChannelSettings, pino({ level: 'silent' }));
  const ref = {
    key: 'INC0010001',
    id: 'abc123',
    url: 'https://example.service-now.com/nav_to.do?uri=incident.do?sys_id=abc123',
  };

  function event(body: Json, record?: DeliveryRecord): DeliveryEvent {
    return plannedEvent(body, { record, now: NOW });
  }
  const open: DeliveryRecord = {
    state: 'open',
    ref,
    firing: ['a1b2c3d4e5f60718'],
    openedAt: NOW - 4 * HOUR,
    updatedAt: NOW - HOUR,
  };

  it('first firing: the search, then the incident with plain-text description and the identity', () => {
    const requests = channel.render(event(fixture('firing')));
    expect(requests).toEqual([
      {
        action:
          'GET /api/now/table/incident?sysparm_query=correlation_id%3DALERT%7B' +
          groupIdOf(fixture('firing')) +
          '%7D%5EORDERBYDESCsys_created_on&sysparm_limit=1' +
          '&sysparm_fields=sys_id%2Cnumber%2Cstate%2Cresolved_at%2Cclosed_at%2Cclose_code' +
          '&sysparm_exclude_reference_link=true',
        body: undefined,
      },
      {
        action:
          'POST /api/now/table/incident?sysparm_fields=sys_id%2Cnumber%2Cstate%2Cresolved_at%2Cclosed_at%2Cclose_code&sysparm_exclude_reference_link=true',
        body: {
          short_description:
            'CalicoLicenseExpiringSoon cluster=prod: The Calico Enterprise licence expires in less than 30 days.',
          description: DESCRIPTION,
          urgency: '3',
          impact: '2',
          assignment_group: 'a1b2c3',
          category: 'software',
          correlation_id: IDENTITY,
          correlation_display: 'license-monitor',
        },
      },
    ]);
  });

  it('change, resolve and reopen: PATCH bodies with work notes, close code and notes, states', () => {
    const update = channel.render(event(withAlerts(fixture('firing'), [otherAlert()]), open), open.ref);
    expect(update).toEqual([
      {
        action: 'PATCH /api/now/table/incident/abc123',
        body: { work_notes: expect.stringMatching(/^Update: 1 new alert firing, 2 firing now\./) },
      },
    ]);

    const resolve = channel.render(event(fixture('resolved'), open), open.ref);
    const text = [
      'Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.',
      '',
      'The alert stopped firing; license-monitor resolved this ticket.',
      '',
      '- [resolved] CalicoLicenseExpiringSoon — resolved 2026-11-28 10:30 UTC, fired 2h 30m',
      '  was: The Calico Enterprise licence expires in less than 30 days. graph (http://prometheus.example.com:9090/graph?g0.expr=license_number_of_days+%3C+30&g0.tab=1)',
    ].join('\n');
    expect(resolve).toEqual([
      {
        action:
          'GET /api/now/table/incident/abc123?sysparm_fields=sys_id%2Cnumber%2Cstate%2Cresolved_at%2Cclosed_at%2Cclose_code&sysparm_exclude_reference_link=true',
        body: undefined,
      },
      {
        action: 'PATCH /api/now/table/incident/abc123',
        body: { state: '6', close_code: 'Solved (Permanently)', close_notes: text, work_notes: text },
      },
    ]);

    const noted = createChannel(
      { ...settings, closeNotes: 'Licence renewed.' } as ChannelSettings,
      pino({ level: 'silent' }),
    );
    const [, patch] = noted.render(event(fixture('resolved'), open), open.ref);
    expect(patch?.body).toMatchObject({ close_notes: `Licence renewed.\n\n${text}`, work_notes: text });

    const closed: DeliveryRecord = { ...open, state: 'closed', ref: { ...ref, resolvedAt: NOW - 60_000 } };
    const reopen = channel.render(event(fixture('firing'), closed), closed.ref);
    expect(reopen[1]).toEqual({
      action: 'PATCH /api/now/table/incident/abc123',
      body: {
        state: '2',
        work_notes: expect.stringMatching(
          /^Firing again since 2026-11-28 08:00 UTC: license-monitor reopened this ticket\./,
        ),
      },
    });
  });

  it.each([
    ['200 alerts', () => manyAlerts(200), /… and \d+ more \(200 in total\)/],
    ['a 100 KB annotation', () => hugeAnnotation(100 * 1024), /… \(truncated\)/],
  ])(
    '%s: the description fits the 4,000 characters of the field and says what was left out',
    (_, payload) => {
      const [, create] = channel.render(event(payload()));
      const body = create?.body as Record<string, string>;
      expect(body.description?.length).toBeLessThanOrEqual(4000);
      expect(body.description).toMatch(/… and \d+ more|\(truncated\)|…/);
      expect(body.description).toContain(`Identity: ${IDENTITY.slice(0, 6)}`);
      expect(body.short_description?.length).toBeLessThanOrEqual(160);
    },
  );

  it('ServiceNow errors read as "message: detail"; an HTML page as its words', () => {
    expect(
      describeError({
        error: { message: 'Operation Failed', detail: 'Data Policy Exception: \n Resolution code\n' },
        status: 'failure',
      }),
    ).toBe('Operation Failed: Data Policy Exception: Resolution code');
    expect(describeError({ error: { message: 'Invalid table x', detail: null }, status: 'failure' })).toBe(
      'Invalid table x',
    );
    expect(describeError('<html><title>502 Bad Gateway</title><h1>Bad Gateway</h1></html>')).toBe(
      '502 Bad Gateway Bad Gateway',
    );
  });
});

const DESCRIPTION = [
  'The Calico Enterprise licence expires in less than 30 days.',
  '',
  'The licence of cluster prod expires on 2026-12-10 (12 days left). 95 of 100 licensed nodes are in use.',
  '',
  '- Severity: warning',
  '- Cluster: prod',
  '- Started: 2026-11-28 08:00 UTC',
  '',
  'What to do (from the runbook CalicoLicenseExpiringSoon.md):',
  '',
  '1. Ask the contract owner to renew with Tigera (about 1–2 days after the purchase order).',
  '2. Apply the renewed licence:',
  '       # on the management cluster',
  '       kubectl apply -f <customer>-license.yaml',
  '3. See the licence docs (https://docs.tigera.io/calico-enterprise/latest/operations/license-options) & check the expiry.',
  '',
  'Escalation:',
  '',
  'Page the platform lead if renewal is blocked.',
  '',
  'Alerts (1 firing, 0 resolved):',
  '',
  '- [firing] CalicoLicenseExpiringSoon — since 2026-11-28 08:00 UTC (4h)',
  '  The Calico Enterprise licence expires in less than 30 days. graph (http://prometheus.example.com:9090/graph?g0.expr=license_number_of_days+%3C+30&g0.tab=1)',
  '',
  'Links:',
  '',
  '- Runbook (https://runbooks.example.com/CalicoLicenseExpiringSoon)',
  '- Graph (http://prometheus.example.com:9090/graph?g0.expr=license_number_of_days+%3C+30&g0.tab=1)',
  '- Silence (http://alertmanager.example.com:9093/#/silences/new?filter=%7Balertname%3D%22CalicoLicenseExpiringSoon%22%2Ccluster%3D%22prod%22%2Cpackage%3D%22Enterprise%22%2Cseverity%3D%22warning%22%7D)',
  '',
  `Opened by license-monitor for alert group license-receiver{alertname="CalicoLicenseExpiringSoon",cluster="prod"} (labels: alertname=CalicoLicenseExpiringSoon cluster=prod package=Enterprise severity=warning). Identity: ${IDENTITY}. Do not remove the identity: it keeps one ticket per alert group.`,
].join('\n');
