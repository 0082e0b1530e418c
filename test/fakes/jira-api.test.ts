// Smoke test of the fake Jira: it must be as strict as the real one where the channel can go wrong.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeJira, type FakeJiraOptions } from './jira-api.js';

const started: FakeJira[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.close()));
});

async function start(options: FakeJiraOptions = {}): Promise<FakeJira> {
  const fake = await FakeJira.start(options);
  started.push(fake);
  return fake;
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON as answered
  json: any;
}

async function call(
  fake: FakeJira,
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = fake.authorization,
): Promise<Answer> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (authorization !== null) headers.Authorization = authorization;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

const adf = (text: string) => ({
  type: 'doc',
  version: 1,
  content: [{ type: 'paragraph', content: [{ type: 'text', text, marks: [{ type: 'strong' }] }] }],
});

const create = (fake: FakeJira, fields: Record<string, unknown> = {}) =>
  call(fake, 'POST', '/rest/api/3/issue', {
    fields: {
      project: { key: 'LIC' },
      issuetype: { name: 'Task' },
      summary: 'Calico Enterprise licence expires in 7 days',
      description: adf('The licence of cluster prod-1 expires soon.'),
      labels: ['license-monitor', 'fp-abc123'],
      ...fields,
    },
  });

const search = (fake: FakeJira, body: Record<string, unknown>) =>
  call(fake, 'POST', '/rest/api/3/search/jql', body);

describe('FakeJira', () => {
  it('rejects missing and wrong credentials with 401', async () => {
    const cloud = await start();
    const unauthenticated = {
      errorMessages: ['You are not authenticated. Authentication required to perform this operation.'],
      errors: {},
    };
    const none = await call(cloud, 'GET', '/rest/api/3/issue/LIC-1', undefined, null);
    expect(none.status).toBe(401);
    expect(none.json).toEqual(unauthenticated);
    const wrong = `Basic ${Buffer.from('bot@example.com:nope').toString('base64')}`;
    expect((await call(cloud, 'GET', '/rest/api/3/issue/LIC-1', undefined, wrong)).status).toBe(401);
    expect((await call(cloud, 'GET', '/rest/api/3/issue/LIC-1')).status).toBe(404);

    const dc = await start({ deployment: 'datacenter' });
    const basic = `Basic ${Buffer.from(`${cloud.email}:${cloud.apiToken}`).toString('base64')}`;
    expect((await call(dc, 'GET', '/rest/api/2/issue/LIC-1', undefined, basic)).json).toEqual(
      unauthenticated,
    );
    expect((await call(dc, 'GET', '/rest/api/2/issue/LIC-1', undefined, 'Bearer jira-pat')).status).toBe(404);
  });

  it('creates and reads an issue on Cloud with an ADF description', async () => {
    const fake = await start();
    const created = await create(fake, { priority: { name: 'High' }, components: [{ name: 'Licensing' }] });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: '10001', key: 'LIC-1', self: `${fake.url}/rest/api/3/issue/10001` });

    const got = await call(
      fake,
      'GET',
      '/rest/api/3/issue/LIC-1?fields=summary,description,status,resolution',
    );
    expect(got.status).toBe(200);
    expect(Object.keys(got.json.fields).sort()).toEqual(['description', 'resolution', 'status', 'summary']);
    expect(got.json.fields.description).toEqual(adf('The licence of cluster prod-1 expires soon.'));
    expect(got.json.fields.status).toMatchObject({ name: 'To Do', statusCategory: { key: 'new' } });
    expect(got.json.fields.resolution).toBeNull();
    const full = fake.issue('LIC-1');
    expect(full?.fields.priority?.name).toBe('High');
    expect(full?.fields.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);

    const bad = await create(fake, {
      description: { type: 'doc', version: 1, content: [{ type: 'text', text: 'x' }] },
    });
    expect(bad.json).toEqual({ errorMessages: [], errors: { description: 'INVALID_INPUT' } });
  });

  it('rejects a string description on Cloud and accepts it on Data Center', async () => {
    const cloud = await start();
    const rejected = await create(cloud, { description: 'plain text' });
    expect(rejected.status).toBe(400);
    expect(rejected.json.errors.description).toBe(
      'Operation value must be an Atlassian Document (see the Atlassian Document Format)',
    );
    expect(cloud.issues()).toHaveLength(0);

    const dc = await start({ deployment: 'datacenter' });
    const fields = {
      project: { key: 'LIC' },
      issuetype: { name: 'Bug' },
      summary: 's',
      description: 'plain text',
    };
    const created = await call(dc, 'POST', '/rest/api/2/issue', { fields });
    expect(created.status).toBe(201);
    expect((await call(dc, 'GET', '/rest/api/2/issue/LIC-1')).json.fields.description).toBe('plain text');
    expect((await call(dc, 'GET', '/rest/api/3/issue/LIC-1')).status).toBe(404);
    expect((await call(dc, 'GET', '/rest/api/2/serverInfo')).json.deploymentType).toBe('Server');
  });

  it('answers 400 for a field that is not on the screen', async () => {
    const fake = await start();
    const res = await create(fake, { assignee: { accountId: 'x' } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      errorMessages: [],
      errors: {
        assignee: "Field 'assignee' cannot be set. It is not on the appropriate screen, or unknown.",
      },
    });
  });

  it('search/jql hides a new issue during the lag unless reconciled', async () => {
    const fake = await start({ searchLagMs: 60_000 });
    await create(fake);
    const jql = 'project = LIC AND labels = "fp-abc123" AND statusCategory != Done';
    const lagging = await search(fake, { jql, fields: ['summary'] });
    expect(lagging.json).toEqual({ issues: [], isLast: true });
    const reconciled = await search(fake, { jql, fields: ['summary'], reconcileIssues: [10001] });
    expect(reconciled.json.issues.map((i: { key: string }) => i.key)).toEqual(['LIC-1']);
    const get = await call(
      fake,
      'GET',
      `/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}&reconcileIssues=10001`,
    );
    expect(get.json.issues).toEqual([{ id: '10001' }]);
    fake.setSearchLag(0);
    expect((await search(fake, { jql })).json.issues).toEqual([{ id: '10001' }]);
  });

  it('answers 410 to the removed /search on Cloud', async () => {
    const fake = await start();
    for (const [method, path] of [
      ['POST', '/rest/api/3/search'],
      ['GET', '/rest/api/2/search?jql=project%20%3D%20LIC'],
    ] as const) {
      const res = await call(fake, method, path, method === 'POST' ? { jql: 'project = LIC' } : undefined);
      expect(res.status).toBe(410);
      expect(res.json.errorMessages[0]).toMatch(/^The requested API has been removed\. .*CHANGE-2046$/);
    }
  });

  it('resolves with Done and clears the resolution on Reopen', async () => {
    const fake = await start();
    await create(fake);
    const offered = await call(fake, 'GET', '/rest/api/3/issue/LIC-1/transitions');
    expect(offered.json.transitions.map((t: { name: string }) => t.name)).toEqual([
      'Done',
      "Won't Do",
      'In Progress',
    ]);

    expect(
      (await call(fake, 'POST', '/rest/api/3/issue/LIC-1/transitions', { transition: { id: '31' } })).status,
    ).toBe(204);
    let fields = fake.issue('LIC-1')?.fields;
    expect(fields?.status.statusCategory.key).toBe('done');
    expect(fields?.resolution?.name).toBe('Done');
    expect(fields?.resolutiondate).toMatch(/\+0000$/);

    const again = await call(fake, 'POST', '/rest/api/3/issue/LIC-1/transitions', {
      transition: { id: '31' },
    });
    expect(again.json).toEqual({
      errorMessages: ["Transition id '31' is not valid for this issue."],
      errors: {},
    });

    const comment = { comment: [{ add: { body: adf('Firing again.') } }] };
    const reopen = await call(fake, 'POST', '/rest/api/3/issue/LIC-1/transitions', {
      transition: { id: '51' },
      update: comment,
    });
    expect(reopen.status).toBe(204);
    fields = fake.issue('LIC-1')?.fields;
    expect(fields?.status.name).toBe('To Do');
    expect(fields?.resolution).toBeNull();
    expect(fields?.resolutiondate).toBeNull();
    expect(fake.comments('LIC-1')).toEqual(['Firing again.']);
  });

  it('does not match unresolved issues with resolution != "Won\'t Do"', async () => {
    const fake = await start();
    await create(fake);
    await create(fake, { summary: 'second' });
    fake.humanTransition('LIC-2', 'Done');
    const keys = async (jql: string) =>
      (await search(fake, { jql, fields: ['key'] })).json.issues.map((i: { key: string }) => i.key);
    expect(await keys('project = LIC AND resolution != "Won\'t Do"')).toEqual(['LIC-2']);
    expect(await keys('project = LIC AND resolution is EMPTY')).toEqual(['LIC-1']);
    expect(await keys('project = LIC ORDER BY created ASC')).toEqual(['LIC-1', 'LIC-2']);

    const unsupported = await search(fake, { jql: 'project = LIC AND summary ~ "licence"' });
    expect(unsupported.status).toBe(400);
    expect(unsupported.json.errorMessages[0]).toMatch(/^Error in the JQL Query: .*\(line 1, column 19\)$/);
    const unknownValue = await search(fake, { jql: 'project = LIC AND status = "Closed"' });
    expect(unknownValue.json.errorMessages).toEqual([
      "The value 'Closed' does not exist for the field 'status'.",
    ]);
  });

  it('failNext 429 answers Retry-After, then serves normally', async () => {
    const fake = await start();
    fake.failNext({ status: 429, retryAfter: 7 }, 1, { method: 'POST', path: /\/issue$/ });
    const limited = await create(fake);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.json).toEqual({ errorMessages: ['Rate limit exceeded.'] });
    expect(fake.issues()).toHaveLength(0);
    expect((await create(fake)).status).toBe(201);
    expect(fake.callsTo('POST', /\/rest\/api\/3\/issue$/).map((c) => c.status)).toEqual([429, 201]);
  });
});
