// Faults of a receiver on PostgreSQL (a server of this file's own, stopped and started by the tests):
// the database goes away under load and comes back. Intake answers 503 meanwhile (Alertmanager
// retries), /readyz says not ready, delivery pauses and resumes by itself, the process stays up, and
// nothing accepted is lost or sent twice. And two receivers on one store: the same notification given
// to both at once is sent once, and the destination's rate limit holds for both together.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/metrics.js';
import { postgresSkipReason, usePostgres } from '../../../test/helpers/postgres.js';
import { fixture, inCluster } from '../fixtures/payloads.js';
import { type Harness, type HarnessOptions, harnessPerTest, startHarness, testPki } from '../harness.js';

const skip = postgresSkipReason();
const postgres = usePostgres();
const startOne = harnessPerTest();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The harness's config on a PostgreSQL schema of its own (or the one given: a second receiver). */
function onPostgres(schema: string, options: HarnessOptions = {}): HarnessOptions {
  return {
    ...options,
    env: { LR_DATABASE_URL: postgres().url(), ...options.env },
    config: {
      store: {
        postgres: {
          url_env: 'LR_DATABASE_URL',
          schema,
          statement_timeout: '2s',
          connect_timeout: '5s',
          lease: '3s',
        },
      },
      ...options.config,
    },
  };
}

async function readyz(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, text: await res.text() };
}

const clusters = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const rootsOf = (h: Harness, cluster: string) =>
  h.slack.roots().filter((m) => m.text.includes(`cluster=${cluster}:`)).length;
const mailsOf = (h: Harness, cluster: string) =>
  h.smtp.mails.filter((m) => new RegExp(`cluster=${cluster}\\b`).test(m.parsed.subject ?? '')).length;

describe.skipIf(skip !== undefined)(`a receiver on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('while PostgreSQL is down: intake 503, not ready, delivery paused; on its return every group once, without a restart', async () => {
    const h = await startOne(onPostgres(postgres().newSchemaName('down')));
    const before = clusters(6, 'before');
    // Slack answers slowly: some deliveries are in flight when the database goes.
    h.slack.failNext({ delayMs: 1500 }, 3, 'chat.postMessage');
    for (const c of before) expect((await h.post(inCluster(fixture('firing'), c))).status).toBe(200);
    await waitFor(() => h.slack.callsOf('chat.postMessage').length >= 1, 5000, 'a delivery under way');

    await postgres().down('fast');
    const during = clusters(4, 'during');
    for (const c of during) {
      const res = await h.post(inCluster(fixture('firing'), c));
      expect(res.status).toBe(503);
    }
    const notReady = await readyz(h.url);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toMatch(/not ready/);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    await sleep(2000); // the process lives through it (a crash would end the test run)

    await postgres().up();
    // Alertmanager sends again what got a 503.
    await waitFor(
      async () => (await h.post(inCluster(fixture('firing'), 'during0'))).status === 200,
      15_000,
      'intake again',
    );
    for (const c of during.slice(1)) expect((await h.post(inCluster(fixture('firing'), c))).status).toBe(200);
    await h.drained(20_000);
    await waitFor(async () => (await readyz(h.url)).status === 200, 10_000, 'ready again');
    for (const c of [...before, ...during]) {
      expect(rootsOf(h, c), `Slack messages of ${c}`).toBe(1);
      expect(mailsOf(h, c), `mails of ${c}`).toBe(1);
    }
  }, 90_000);

  it('two receivers on one store: the same notification posted to both at once is sent once; the rate limit holds for both', async () => {
    const schema = postgres().newSchemaName('pair');
    const limit = { per_second: 5, burst: 5 };
    const a = await startOne(onPostgres(schema, { slackConfig: { rate_limit: limit } }));
    // The second receiver sends to the first one's Slack and SMTP server.
    const b = await startHarness(
      onPostgres(schema, {
        channels: [
          {
            name: 'slack',
            type: 'slack',
            token_env: 'A_SLACK_TOKEN',
            channel: '#platform-alerts',
            api_url: a.slack.apiUrl,
            rate_limit: limit,
            timeout: '2s',
          },
          {
            name: 'mail',
            type: 'email',
            smtp: { host: '127.0.0.1', port: a.smtp.port, ca_file: testPki().caFile, timeout: '2s' },
            from: 'Licence alerts <alerts@example.com>',
            to: ['licensing@example.com'],
          },
        ],
        env: { A_SLACK_TOKEN: a.slack.token },
      }),
    );
    try {
      // Each receiver looks the Slack channel up once: deliveries claimed meanwhile wait for it and then
      // go together (the limit applies when a row is claimed). Both look it up first, then the bucket
      // fills again.
      for (const [h, c] of [
        [a, 'warm-a'],
        [b, 'warm-b'],
      ] as const)
        expect((await h.post(inCluster(fixture('firing'), c))).status).toBe(200);
      await waitFor(() => a.slack.roots().length === 2, 10_000, 'both receivers warmed up');
      await sleep(1500);
      const groups = clusters(30);
      await Promise.all(
        groups
          .flatMap((c) => [a.post(inCluster(fixture('firing'), c)), b.post(inCluster(fixture('firing'), c))])
          .map(async (res) => expect((await res).status).toBe(200)),
      );
      await waitFor(
        () => a.slack.roots().length >= groups.length + 2 && a.smtp.mails.length >= groups.length,
        30_000,
        'every group delivered',
      );
      await sleep(500);
      for (const c of groups) {
        expect(rootsOf(a, c), `Slack messages of ${c}`).toBe(1);
        expect(mailsOf(a, c), `mails of ${c}`).toBe(1);
      }
      // 5/s with a burst of 5 for both receivers together. The limit applies when a row is claimed;
      // the post follows after a delivery's own time, which varies (both receivers, Slack and SMTP
      // share this busy process): in any window of w seconds at most 5 + 5·(w + 1) posts. One bucket per
      // receiver would allow twice that and end the 30 posts in about 2 s.
      const posts = a.slack
        .roots()
        .filter((m) => !m.text.includes('cluster=warm-'))
        .map((m) => m.postedAt)
        .sort((x, y) => x - y);
      for (let i = 0; i < posts.length; i++)
        for (let j = i; j < posts.length; j++) {
          const w = ((posts[j] as number) - (posts[i] as number)) / 1000;
          expect(j - i + 1, `posts between ${i} and ${j} (${w} s)`).toBeLessThanOrEqual(
            5 + Math.floor(5 * (w + 1)),
          );
        }
      // 30 posts at 5/s after a burst of 5: 5 s (less a delivery's jitter; one bucket each: 2.5 s).
      expect((posts.at(-1) as number) - (posts[0] as number)).toBeGreaterThanOrEqual(4000);
    } finally {
      await b.stop();
    }
  }, 90_000);
});
