import { afterEach, describe, expect, it } from 'vitest';
import { FakeServiceNow } from './servicenow-api.js';

let sn: FakeServiceNow | undefined;

afterEach(async () => {
  await sn?.close();
  sn = undefined;
});

async function start(): Promise<FakeServiceNow> {
  sn = await FakeServiceNow.start();
  return sn;
}

async function api(
  fake: FakeServiceNow,
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = fake.basicAuth,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (auth !== null) headers.Authorization = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const INCIDENT = '/api/now/table/incident';
type Rec = Record<string, unknown>;

async function create(fake: FakeServiceNow, fields: Rec): Promise<Rec> {
  const res = await api(fake, 'POST', INCIDENT, fields);
  expect(res.status).toBe(201);
  return res.json.result as Rec;
}

describe('FakeServiceNow', () => {
  it('answers 401 without valid credentials and accepts Basic and Bearer', async () => {
    const fake = await start();
    const none = await api(fake, 'GET', INCIDENT, undefined, null);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' },
      status: 'failure',
    });
    const wrong = `Basic ${Buffer.from('svc-alerts:nope').toString('base64')}`;
    expect((await api(fake, 'GET', INCIDENT, undefined, wrong)).status).toBe(401);
    expect((await api(fake, 'GET', INCIDENT)).status).toBe(200);
    expect((await api(fake, 'GET', INCIDENT, undefined, 'Bearer sn-oauth-token')).status).toBe(200);
  });

  it('creates an incident with string values and a computed priority', async () => {
    const fake = await start();
    const rec = await create(fake, { short_description: 'Licence expires', urgency: 1, impact: '2' });
    expect(rec.number).toBe('INC0010001');
    expect(rec.sys_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rec.priority).toBe('2');
    expect(rec.state).toBe('1');
    expect(rec.urgency).toBe('1');
    expect(rec.sys_created_on).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    for (const value of Object.values(rec)) expect(typeof value).toBe('string');
    expect(fake.warnings).toEqual([]);
    const bad = await api(fake, 'POST', INCIDENT, { urgency: '4' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      error: { message: 'Invalid value for field urgency', detail: null },
      status: 'failure',
    });
  });

  it('queries by correlation_id, newest first, one per page', async () => {
    const fake = await start();
    await create(fake, { correlation_id: 'alert-a', short_description: 'first' });
    await create(fake, { correlation_id: 'alert-b', short_description: 'other' });
    const newest = await create(fake, { correlation_id: 'alert-a', short_description: 'second' });
    const query = new URLSearchParams({
      sysparm_query: 'correlation_id=alert-a^ORDERBYDESCsys_created_on',
      sysparm_limit: '1',
      sysparm_fields: 'sys_id,number,state',
    });
    const res = await api(fake, 'GET', `${INCIDENT}?${query}`);
    expect(res.status).toBe(200);
    expect(res.json.result).toEqual([{ sys_id: newest.sys_id, number: newest.number, state: '1' }]);
    expect(res.headers.get('x-total-count')).toBe('2');
    expect(res.headers.get('link')).toMatch(/sysparm_offset=1>;rel="next"/);
    expect(fake.warnings).toEqual([]);
  });

  it('refuses to resolve without a close code (data policy)', async () => {
    const fake = await start();
    const rec = await create(fake, { short_description: 'x' });
    const res = await api(fake, 'PATCH', `${INCIDENT}/${rec.sys_id}`, { state: '6' });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      error: {
        message: 'Operation Failed',
        detail:
          'Data Policy Exception: \n The following fields are mandatory: Resolution code, Resolution notes\n',
      },
      status: 'failure',
    });
    expect(fake.incident(rec.number as string)?.state).toBe('1');
  });

  it('resolves, then reopens: resolved_at cleared, reopen_count incremented', async () => {
    const fake = await start();
    const rec = await create(fake, { short_description: 'x' });
    const path = `${INCIDENT}/${rec.sys_id}`;
    const resolved = await api(fake, 'PATCH', path, {
      state: '6',
      close_code: 'Solved (Permanently)',
      close_notes: 'Alert resolved',
    });
    expect(resolved.status).toBe(200);
    expect((resolved.json.result as Rec).resolved_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const reopened = await api(fake, 'PUT', path, { state: '2' });
    expect(reopened.status).toBe(200);
    const result = reopened.json.result as Rec;
    expect(result.resolved_at).toBe('');
    expect(result.reopen_count).toBe('1');
    expect(result.close_code).toBe('Solved (Permanently)');
  });

  it('refuses to update a closed incident', async () => {
    const fake = await start();
    const rec = await create(fake, { short_description: 'x' });
    fake.humanClose(rec.number as string, 'Solved Remotely (Permanently)', 'Done by hand');
    const res = await api(fake, 'PATCH', `${INCIDENT}/${rec.sys_id}`, { work_notes: 'still firing' });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      error: {
        message: 'Operation Failed',
        detail: 'ACL Exception Update Failed due to security constraints',
      },
      status: 'failure',
    });
    expect(fake.incident(rec.sys_id as string)?.closed_at).not.toBe('');
  });

  it('appends work_notes to the journal and reads them back empty', async () => {
    const fake = await start();
    const rec = await create(fake, { short_description: 'x', work_notes: 'opened by alert' });
    const res = await api(fake, 'PATCH', `${INCIDENT}/${rec.sys_id}`, { work_notes: 'still firing' });
    expect((res.json.result as Rec).work_notes).toBe('');
    expect(fake.journal(rec.sys_id as string).map(({ field, value }) => ({ field, value }))).toEqual([
      { field: 'work_notes', value: 'opened by alert' },
      { field: 'work_notes', value: 'still firing' },
    ]);
  });

  it('fails on purpose with 429 and Retry-After, then recovers', async () => {
    const fake = await start();
    fake.failNext({ status: 429, retryAfter: 7 }, 1, { method: 'POST', path: /\/incident$/ });
    const limited = await api(fake, 'POST', INCIDENT, { short_description: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('x-ratelimit-limit')).not.toBeNull();
    expect(fake.incidents()).toHaveLength(0);
    expect((await api(fake, 'POST', INCIDENT, { short_description: 'x' })).status).toBe(201);
    expect(fake.callsTo('POST', /\/incident$/).map((c) => c.status)).toEqual([429, 201]);
  });
});
