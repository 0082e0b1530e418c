// Smoke test of the fake GitHub: auth, issue lifecycle, label lists with pagination, validation, and the
// three kinds of 403 a client must tell apart (primary limit, secondary limit, missing permission).
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGitHub, type FakeGitHubOptions, type GitHubIssue } from './github-api.js';

const running: FakeGitHub[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.close()));
});

async function start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = await FakeGitHub.start(options);
  running.push(fake);
  return fake;
}

async function gh(
  fake: FakeGitHub,
  method: string,
  path: string,
  body?: unknown,
  token = fake.token,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const url = path.startsWith('http') ? path : `${fake.url}${path}`;
  const res = await fetch(url, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': '2022-11-28',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const ISSUES = '/repos/acme/licences/issues';

describe('FakeGitHub', () => {
  it('answers 401 Bad credentials to a wrong token, with rate-limit headers', async () => {
    const fake = await start();
    const res = await gh(fake, 'GET', ISSUES, undefined, 'ghp_wrong');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401',
    });
    expect(res.headers.get('x-ratelimit-limit')).toBeTruthy();
    expect(res.headers.get('x-github-request-id')).toBeTruthy();
    expect(fake.primaryRemaining).toBe(5000);
  });

  it('creates an issue under a GHES prefix, creating its labels', async () => {
    const fake = await start({ pathPrefix: '/api/v3' });
    expect(fake.url).toMatch(/\/api\/v3$/);
    const res = await gh(fake, 'POST', ISSUES, {
      title: 'Licence expires',
      body: 'soon',
      labels: ['alert', 'p1'],
    });
    expect(res.status).toBe(201);
    const issue = res.body as GitHubIssue;
    expect(issue).toMatchObject({
      number: 1,
      state: 'open',
      state_reason: null,
      closed_at: null,
      comments: 0,
    });
    expect(issue.html_url).toBe('https://github.com/acme/licences/issues/1');
    expect(issue.labels.map((l) => l.name)).toEqual(['alert', 'p1']);
    expect(issue.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(fake.labels().map((l) => l.name)).toEqual(['alert', 'p1']);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4999');
    expect(fake.calls[0]).toMatchObject({
      path: ISSUES,
      accept: 'application/vnd.github+json',
      apiVersion: '2022-11-28',
    });
    expect((await gh(fake, 'POST', '/repos/acme/other/issues', { title: 'x' })).status).toBe(404);
  });

  it('lists by label (all of them) with a Link header to the next and last pages', async () => {
    const fake = await start();
    for (let i = 1; i <= 5; i++)
      await gh(fake, 'POST', ISSUES, {
        title: `t${i}`,
        labels: i === 3 ? ['alert'] : ['alert', 'cluster-a'],
      });
    const first = await gh(fake, 'GET', `${ISSUES}?labels=alert,cluster-a&per_page=2&direction=asc`);
    expect((first.body as GitHubIssue[]).map((i) => i.number)).toEqual([1, 2]);
    const link = first.headers.get('link') ?? '';
    expect(link).toMatch(/^<http:[^>]+page=2>; rel="next", <http:[^>]+page=2>; rel="last"$/);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1] as string;
    const second = await gh(fake, 'GET', next);
    expect((second.body as GitHubIssue[]).map((i) => i.number)).toEqual([4, 5]);
    expect(second.headers.get('link')).not.toContain('rel="next"');
  });

  it('closes with state_reason completed, then reopens', async () => {
    const fake = await start();
    await gh(fake, 'POST', ISSUES, { title: 'Licence expires' });
    const closed = await gh(fake, 'PATCH', `${ISSUES}/1`, { state: 'closed', state_reason: 'completed' });
    expect(closed.body).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect((closed.body as GitHubIssue).closed_at).toMatch(/Z$/);
    const bad = await gh(fake, 'PATCH', `${ISSUES}/1`, { state: 'closed', state_reason: 'reopened' });
    expect(bad.status).toBe(422);
    const reopened = await gh(fake, 'PATCH', `${ISSUES}/1`, { state: 'open' });
    expect(reopened.body).toMatchObject({ state: 'open', state_reason: 'reopened', closed_at: null });
    expect(fake.issue(1)?.state).toBe('open');
  });

  it('refuses a body over 65,536 characters with 422', async () => {
    const fake = await start();
    const res = await gh(fake, 'POST', ISSUES, { title: 'x', body: 'a'.repeat(65_537) });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      message: 'Validation Failed',
      errors: [{ code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }],
    });
    expect(fake.issues()).toEqual([]);
  });

  it('answers 403 with remaining 0 and a reset when the primary budget is spent, then refills', async () => {
    const fake = await start({ primaryLimit: 3 });
    for (let i = 0; i < 3; i++) expect((await gh(fake, 'GET', ISSUES)).status).toBe(200);
    const spent = await gh(fake, 'GET', ISSUES);
    expect(spent.status).toBe(403);
    expect(spent.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(spent.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(spent.headers.get('retry-after')).toBeNull();
    expect((spent.body as { message: string }).message).toMatch(/^API rate limit exceeded for user ID 1\./);
    fake.exhaustPrimary(0.2);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gh(fake, 'GET', ISSUES)).headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('answers the secondary-limit 403 with retry-after, for content-creating requests only', async () => {
    const fake = await start({ contentPerMinute: 2 });
    await gh(fake, 'POST', ISSUES, { title: 'a' });
    await gh(fake, 'POST', `${ISSUES}/1/comments`, { body: 'again' });
    const third = await gh(fake, 'PATCH', `${ISSUES}/1`, { state: 'closed' });
    expect(third.status).toBe(403);
    expect(third.headers.get('retry-after')).toBe('60');
    expect(Number(third.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect((third.body as { message: string }).message).toMatch(/secondary rate limit/);
    expect((await gh(fake, 'GET', `${ISSUES}/1`)).status).toBe(200);
    expect(fake.comments(1)).toEqual(['again']);

    const other = await start();
    other.triggerSecondary(30);
    const res = await gh(other, 'POST', ISSUES, { title: 'b' });
    expect([res.status, res.headers.get('retry-after')]).toEqual([403, '30']);
  });

  it('answers a permission 403 without rate-limit exhaustion or retry-after', async () => {
    const fake = await start();
    fake.failNext({ status: 403, message: 'Resource not accessible by integration' }, 1, { method: 'POST' });
    const res = await gh(fake, 'POST', ISSUES, { title: 'a' });
    expect(res.status).toBe(403);
    expect((res.body as { message: string }).message).toBe('Resource not accessible by integration');
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(fake.issues()).toEqual([]);
    expect((await gh(fake, 'POST', ISSUES, { title: 'a' })).status).toBe(201);
  });
});
