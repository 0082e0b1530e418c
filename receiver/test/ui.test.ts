/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The status page and /api/v1/outbox: credentials, no change without a POST from the page, and — in a
// real Chromium (Debian's, driven by puppeteer-core) — what an operator sees and that Retry delivers a
// dead letter once. The screenshot is written to $STATUS_PAGE_SCREENSHOT or the temp folder.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../test/helpers/browser.js';
import { waitFor } from '../../test/helpers/metrics.js';
import { fixture } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness } from './harness.js';

const USER = 'ops';
const PASSWORD = 'correct horse battery staple';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH = { Authorization: basic(USER, PASSWORD) };

const harnesses: Harness[] = [];
async function start(ui = true): Promise<Harness> {
  const h = await startHarness({
    config: ui ? { ui: { basic_auth: { username: USER, password_env: 'UI_PASSWORD' } } } : {},
    env: { UI_PASSWORD: PASSWORD },
  });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});
afterAll(() => cleanupPki());

const group = (cluster: string, status: 'firing' | 'resolved' = 'firing') => ({
  ...fixture(status),
  groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster },
});
const slackPosts = (h: Harness, cluster: string, word = 'FIRING') =>
  h.slack.roots().filter((m) => m.text.includes(`[${word}`) && m.text.includes(`cluster=${cluster}`)).length;

/** Two dead letters in Slack (the mail got both), and the first one superseded by its resolve. */
async function twoDeadLetters(h: Harness): Promise<void> {
  for (const cluster of ['prod-eu', 'prod-us']) {
    h.slack.failNext({ error: 'channel_not_found' }, 1, 'chat.postMessage');
    expect((await h.post(group(cluster))).status).toBe(200);
    await waitFor(
      async () => (await h.receiver.store.dead()).length === (cluster === 'prod-eu' ? 1 : 2),
      5000,
      'dead',
    );
  }
  expect((await h.post(group('prod-eu', 'resolved'))).status).toBe(200);
  await h.drained();
}

describe('status page over HTTP', () => {
  it('is off without `ui`: / is the plain page and the API does not exist', async () => {
    const h = await start(false);
    const page = await fetch(`${h.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('Dead letters');
    expect((await fetch(`${h.url}/api/v1/outbox`, { headers: AUTH })).status).toBe(404);
  });

  it('answers 401 without the right credentials, and the JSON with them', async () => {
    const h = await start();
    await twoDeadLetters(h);
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: basic(USER, 'wrong') },
      { Authorization: basic('admin', PASSWORD) },
    ]) {
      for (const path of ['/', '/api/v1/outbox']) {
        const res = await fetch(`${h.url}${path}`, { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="license-receiver"');
        expect(await res.text()).not.toContain('prod-us');
      }
    }
    const res = await fetch(`${h.url}/api/v1/outbox`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const data = (await res.json()) as Record<string, unknown> & {
      channels: Record<string, unknown>[];
      dead: Record<string, unknown>[];
      recent: Record<string, unknown>[];
    };
    expect(data.channels.map((c) => [c.channel, c.type, c.health, c.dead])).toEqual([
      ['slack', 'slack', 'dead letters', 2],
      ['mail', 'email', 'ok', 0],
    ]);
    expect(data.channels[0]?.last_error).toBe('Slack answered channel_not_found');
    expect(data.dead.map((d) => [d.title, d.alertnames, d.last_error, d.superseded_at !== null])).toEqual([
      [
        'CalicoLicenseExpiringSoon cluster=prod-us',
        ['CalicoLicenseExpiringSoon'],
        'Slack answered channel_not_found',
        false,
      ],
      [
        'CalicoLicenseExpiringSoon cluster=prod-eu',
        ['CalicoLicenseExpiringSoon'],
        'Slack answered channel_not_found',
        true,
      ],
    ]);
    expect(data.recent.map((r) => `${r.channel} ${r.outcome} ${r.kind}`)).toContain('slack dead new');
    // The webhook's own credentials do not open the page (the harness's bearer token).
    expect(
      (await fetch(`${h.url}/`, { headers: { Authorization: 'Bearer webhook-token-123' } })).status,
    ).toBe(401);
  });

  it('changes nothing on GET, and refuses a POST without the page token or from another origin', async () => {
    const h = await start();
    await twoDeadLetters(h);
    const [dead] = await h.receiver.store.list({ states: ['dead'] });
    const id = dead?.id as number;
    expect((await fetch(`${h.url}/outbox/${id}/retry`, { headers: AUTH })).status).toBe(404);
    const page = await (await fetch(`${h.url}/`, { headers: AUTH })).text();
    const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1] as string;
    expect(token).toMatch(/^[\w-]{20,}$/);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${h.url}/outbox/${id}/retry`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    expect((await post('')).status).toBe(403);
    expect((await post('csrf=forged')).status).toBe(403);
    expect((await post(`csrf=${token}`, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(`csrf=${token}`, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    const unauthenticated = await fetch(`${h.url}/outbox/${id}/retry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `csrf=${token}`,
    });
    expect(unauthenticated.status).toBe(401);
    expect((await h.receiver.store.get(id))?.state).toBe('dead');
    // With the token, from this origin: done, and back to the page with the outcome.
    const ok = await post(`csrf=${token}`, { Origin: h.url });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/?row=${id}&outcome=requeued`);
  });
});

describe('status page in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  // A page left open by a failed test keeps its connections, and the harness could not stop.
  afterEach(async () => {
    for (const page of await browser.pages()) await page.close();
  });

  it('shows channels, dead letters and deliveries; Retry sends a dead letter once; Discard removes one', async () => {
    const h = await start();
    await twoDeadLetters(h);
    const page = await browser.newPage();
    await page.setViewport({ width: 1366, height: 768 });

    // Without credentials the browser gets no page: the server answers 401, and headless Chromium has
    // no one to ask for a password.
    const statuses: number[] = [];
    const seen = (r: { status(): number }) => statuses.push(r.status());
    page.on('response', seen);
    await expect(page.goto(`${h.url}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    // The response event may come after the navigation has failed (it did in a CI run).
    await waitFor(() => statuses.length > 0, 5000, 'the response to the page without credentials');
    expect(statuses).toEqual([401]);
    page.off('response', seen);

    await page.authenticate({ username: USER, password: PASSWORD });
    const shown = await page.goto(`${h.url}/`);
    expect(shown?.status()).toBe(200);
    const channels = await page.$$eval('#channels tbody tr', (rows) =>
      rows.map((r) =>
        [...r.querySelectorAll('td')].map((td) => (td.textContent ?? '').replace(/\s+/g, ' ').trim()),
      ),
    );
    expect(channels.map((c) => [c[0], c[1], c[6]])).toEqual([
      ['slack slack', 'dead letters', '2'],
      ['mail email', 'ok', '0'],
    ]);
    expect(channels[0]?.[3]).toContain('Slack answered channel_not_found');
    const dead = await page.$$eval('#dead tbody tr', (rows) =>
      rows.map((r) => ({
        row: r.getAttribute('data-row'),
        text: (r.textContent ?? '').replace(/\s+/g, ' '),
        retry: (r.querySelector('button.primary') as HTMLButtonElement | null)?.disabled,
      })),
    );
    expect(dead.map((d) => d.retry)).toEqual([false, true]); // prod-eu is superseded by its resolve
    expect(dead[0]?.text).toContain('CalicoLicenseExpiringSoon cluster=prod-us');
    expect(dead[0]?.text).toContain('firing · CalicoLicenseExpiringSoon');
    expect(dead[1]?.text).toContain('Superseded: a newer notification of this group was delivered');
    // It reads on a laptop screen: nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const file = process.env.STATUS_PAGE_SCREENSHOT ?? join(tmpdir(), 'license-receiver-status-page.png');
    await page.screenshot({ path: file as `${string}.png`, fullPage: true });

    // Retry prod-us: back on the page with the outcome; Slack gets the firing message once.
    expect(slackPosts(h, 'prod-us')).toBe(0);
    await Promise.all([
      page.waitForNavigation(),
      page.click(`#dead tr[data-row="${dead[0]?.row}"] button.primary`),
    ]);
    expect(await page.$eval('.notice', (n) => n.textContent)).toBe(
      `row ${dead[0]?.row} is queued again: the receiver sends it within 20ms`,
    );
    await waitFor(() => slackPosts(h, 'prod-us') === 1, 5000, 'the retried notification');
    await new Promise((r) => setTimeout(r, 300));
    expect(slackPosts(h, 'prod-us')).toBe(1);
    await h.drained();

    // Discard the superseded one: open the disclosure, confirm.
    await page.goto(`${h.url}/`);
    const row = `#dead tr[data-row="${dead[1]?.row}"]`;
    await page.click(`${row} summary`);
    await Promise.all([page.waitForNavigation(), page.click(`${row} button.danger`)]);
    expect(await page.$eval('.notice', (n) => n.textContent)).toBe(`row ${dead[1]?.row} is discarded`);
    expect(await page.$('#dead')).toBeNull();
    expect(await page.$eval('main', (m) => m.textContent)).toContain(
      'None: every notification was delivered or is still being tried.',
    );
    const log = await page.$$eval('#recent tbody tr', (rows) =>
      rows.map((r) => (r.textContent ?? '').replace(/\s+/g, ' ')),
    );
    expect(log[0]).toContain('discarded');
    expect(log[0]).toContain(`by ui:${USER}`);
    expect(slackPosts(h, 'prod-eu')).toBe(0);
    expect(slackPosts(h, 'prod-eu', 'RESOLVED')).toBe(1);
    // The open page holds no connection that keeps the receiver from stopping (with keep-alive, a
    // stop waited ~56 s for Chromium's connection).
    const stopping = Date.now();
    await h.receiver.stop();
    expect(Date.now() - stopping).toBeLessThan(5000);
    await page.close();
  });
});
