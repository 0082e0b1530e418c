// The built license-receiver binary, as an operator runs it: commands, exit codes, signals, and the
// durability guarantee across SIGKILL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, visibleText } from '../../test/fakes/slack-api.js';
import { scrape, waitFor } from '../../test/helpers/metrics.js';
import { PASSWORD, postgresSkipReason, usePostgres } from '../../test/helpers/postgres.js';
import { type Started, start, waitForLog } from '../../test/helpers/process.js';
import { TestSmtpServer } from '../../test/helpers/smtp.js';
import { fixture } from './fixtures/payloads.js';
import { cleanupPki, testPki } from './harness.js';

const BIN = new URL('../dist/main.js', import.meta.url).pathname;
const EXAMPLES = new URL('../examples/', import.meta.url).pathname;
const RUNBOOKS = new URL('./fixtures/runbooks/', import.meta.url).pathname;

let dir: string;
let slack: FakeSlack;
const pgSkip = postgresSkipReason();
const postgres = usePostgres();
/** The environment every run gets besides the Slack token (the PostgreSQL URL of a test). */
let storeEnv: NodeJS.ProcessEnv = {};
const running: Started[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lm-cli-'));
  slack = await FakeSlack.start({ rateLimit: false });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  slack.clearFaults();
  storeEnv = {};
});
afterAll(async () => {
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
  cleanupPki();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const p = start(process.execPath, [BIN, ...args], { SLACK_BOT_TOKEN: slack.token, ...storeEnv, ...env });
  running.push(p);
  return p;
}

function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, yaml.dump(config));
  return file;
}

const slackChannel = (extra: Record<string, unknown> = {}) => ({
  name: 'slack',
  type: 'slack',
  token_env: 'SLACK_BOT_TOKEN',
  channel: '#platform-alerts',
  api_url: slack.apiUrl,
  rate_limit: { per_second: 50, burst: 50 },
  ...extra,
});

describe('commands', () => {
  it('prints usage, and exits 2 on a usage error', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('license-receiver serve --config FILE');
    const unknown = run(['deploy', '--config', 'x.yaml']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain('unknown command "deploy"');
    const missing = run(['render', '--config', join(EXAMPLES, 'receiver.yaml')]);
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toContain('render: missing --payload');
    const option = run(['serve', '--colour']);
    expect(await option.exited).toBe(2);
    expect(option.output()).toMatch(/^license-receiver: unknown option --colour\n\nUsage:/);
  });

  it('says "no such file" with the path of a --config or --payload that is not there', async () => {
    const config = run(['check-config', '--config', join(dir, 'nope.yaml')]);
    expect(await config.exited).toBe(2);
    expect(config.output()).toBe(`license-receiver: --config: no such file: ${join(dir, 'nope.yaml')}\n`);
    const payload = run([
      'render',
      '--config',
      join(EXAMPLES, 'receiver.yaml'),
      '--payload',
      join(dir, 'nope.json'),
    ]);
    expect(await payload.exited).toBe(2);
    expect(payload.output()).toBe(`license-receiver: --payload: no such file: ${join(dir, 'nope.json')}\n`);
  });

  it('check-config names the key, the value and what was expected, and exits non-zero', async () => {
    const bad = run(['check-config', '--config', join(EXAMPLES, 'receiver.yaml')], {
      SMTP_USER: 'u',
      SMTP_PASS: 'p',
    });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain(
      'auth.bearer_token_file: "/run/secrets/webhook-token" is not valid: expected a path to a readable file holding the secret',
    );
    const file = writeConfig('ok.yaml', { channels: [slackChannel()], default_channels: ['slack'] });
    const ok = run(['check-config', '--config', file]);
    expect(await ok.exited).toBe(0);
    expect(ok.output()).toContain(
      'OK — listen 127.0.0.1:9095; channels: slack (slack, api, token scopes: chat:write, channels:history (groups:history for a private channel), channels:read (groups:read) to find the channel by name — or give its ID)',
    );
    const serving = run([
      'serve',
      '--config',
      writeConfig('bad.yaml', { listen: 'nowhere', channels: [slackChannel()], default_channels: ['slack'] }),
    ]);
    expect(await serving.exited).toBe(2);
    expect(serving.output()).toContain('listen: "nowhere" is not valid');
    expect(serving.output()).not.toContain('serving');
  });

  it('render prints exactly what would be sent, without any secret', async () => {
    const p = run(
      [
        'render',
        '--config',
        join(EXAMPLES, 'receiver.yaml'),
        '--payload',
        join(EXAMPLES, 'payload-firing.json'),
        '--json',
      ],
      { SLACK_BOT_TOKEN: '' },
    );
    expect(await p.exited).toBe(0);
    const rendered = JSON.parse(p.output()) as {
      channel: string;
      type: string;
      requests: { action: string; body: Record<string, unknown> }[];
    }[];
    expect(rendered.map((r) => [r.channel, r.requests.map((q) => q.action)])).toEqual([
      ['slack-ops', ['chat.postMessage']],
      ['licensing-mail', ['SMTP']],
    ]);
    const post = rendered[0]?.requests[0]?.body as { channel: string; text: string; blocks: unknown[] };
    expect(post.channel).toBe('#platform-alerts');
    expect(post.text).toBe(
      '[FIRING:1] CalicoLicenseExpiringSoon cluster=c1: The Calico Enterprise licence expires soon.',
    );
    const mail = rendered[1]?.requests[0]?.body as { subject: string; text: string; html: string };
    expect(mail.subject).toBe('[FIRING:1] CalicoLicenseExpiringSoon cluster=c1');
    expect(mail.text).toContain('Expires: 2026-12-10 02:00 UTC (29 days left)');
    expect(mail.html).toContain('<h2');

    const human = run([
      'render',
      '--config',
      join(EXAMPLES, 'receiver.yaml'),
      '--payload',
      join(EXAMPLES, 'payload-firing.json'),
    ]);
    expect(await human.exited).toBe(0);
    expect(human.output()).toContain('===== slack-ops (slack): chat.postMessage =====');
    expect(human.output()).toContain('----- text/plain -----');
    expect(human.output()).toContain('----- text/html -----');

    const invalid = run([
      'render',
      '--config',
      join(EXAMPLES, 'receiver.yaml'),
      '--payload',
      new URL('./fixtures/payloads/wrong-types.json', import.meta.url).pathname,
    ]);
    expect(await invalid.exited).toBe(1);
    expect(invalid.output()).toContain('alerts[0].labels.severity: expected a string, received a number (3)');
  });

  it('render --channel shows the exact ticket bodies: Jira Cloud in ADF, Data Center in wiki markup', async () => {
    const render = (channel: string, json = true) =>
      run([
        'render',
        '--config',
        join(EXAMPLES, 'tickets.yaml'),
        '--payload',
        join(EXAMPLES, 'payload-firing.json'),
        '--channel',
        channel,
        ...(json ? ['--json'] : []),
      ]);
    const cloud = render('jira-cloud');
    expect(await cloud.exited).toBe(0);
    type Fields = { summary: string; description: unknown; labels: string[]; priority: unknown };
    const [jira] = JSON.parse(cloud.output()) as {
      requests: { action: string; body: { fields: Fields } }[];
    }[];
    expect(jira?.requests.map((r) => r.action)).toEqual([
      'POST /rest/api/3/search/jql',
      'POST /rest/api/3/issue',
    ]);
    const fields = jira?.requests[1]?.body.fields as Fields;
    expect(fields.summary).toBe(
      'CalicoLicenseExpiringSoon cluster=c1: The Calico Enterprise licence expires soon.',
    );
    expect(fields.description).toMatchObject({ type: 'doc', version: 1 });
    // The rule's remediation annotation, line by line (it wins over the runbook).
    const adf = JSON.stringify(fields.description);
    expect(adf).toContain(
      '{"type":"hardBreak"},{"type":"text","text":"When the renewed licence arrives, apply it',
    );
    expect(adf).toContain('"text":"2026-12-10 02:00 UTC (29 days left)"');
    expect(fields.labels).toEqual(['calico-licence', expect.stringMatching(/^ALERT\{[0-9a-f]{32}\}$/)]);
    expect(fields.priority).toEqual({ name: 'High' });

    const dc = render('jira-dc', false);
    expect(await dc.exited).toBe(0);
    const text = dc.output();
    expect(text).toContain('===== jira-dc (jira): POST /rest/api/2/search =====');
    expect(text).toContain('===== jira-dc (jira): POST /rest/api/2/issue =====');
    const wiki = text.slice(text.indexOf('----- description -----'));
    expect(wiki).toContain('\nh3. What to do\n');
    expect(wiki).toContain('kubectl apply \\-f <customer>\\-license.yaml');
    expect(wiki).toContain('* *Expires:* 2026\\-12\\-10 02:00 UTC (29 days left)');

    for (const [channel, actions] of [
      ['servicenow', ['GET /api/now/table/incident', 'POST /api/now/table/incident']],
      ['github', ['GET /repos/acme/platform-licences/issues', 'POST /repos/acme/platform-licences/issues']],
      ['hook', ['POST webhook']],
    ] as const) {
      const p = render(channel);
      expect(await p.exited, p.output()).toBe(0);
      const [result] = JSON.parse(p.output()) as { requests: { action: string }[] }[];
      expect(result?.requests.map((r) => r.action.split('?')[0])).toEqual(actions);
    }
  });

  it('test-send posts a sample firing, then resolved, notification to Slack', async () => {
    const file = writeConfig('test-send.yaml', {
      runbooks_dir: RUNBOOKS,
      channels: [slackChannel()],
      default_channels: ['slack'],
    });
    const before = slack.roots().length;
    const p = run(['test-send', '--config', file, '--channel', 'slack']);
    expect(await p.exited).toBe(0);
    const root = slack.roots().at(-1);
    expect(slack.roots().length).toBe(before + 1);
    expect(root?.updates).toHaveLength(1);
    expect(visibleText(root as never)).toContain('✅ RESOLVED · CalicoLicenseExpiringSoon · test-send');
    expect(visibleText(slack.replies(root as never)[0] as never)).toMatch(
      /^Resolved at .* after firing for 2h\.$/,
    );
    expect(p.output()).not.toContain(slack.token);
  });

  it('test-send by email, over STARTTLS verified against the CA', async () => {
    const pki = testPki();
    const smtp = await TestSmtpServer.start({
      tls: { key: pki.read('server.key'), cert: pki.read('server.pem') },
    });
    try {
      const file = writeConfig('mail.yaml', {
        channels: [
          {
            name: 'mail',
            type: 'email',
            smtp: { host: '127.0.0.1', port: smtp.port, ca_file: pki.caFile },
            from: 'a@example.com',
            to: ['b@example.com'],
          },
        ],
        default_channels: ['mail'],
      });
      const p = run(['test-send', '--config', file, '--channel', 'mail']);
      expect(await p.exited).toBe(0);
      expect(smtp.mails.map((m) => m.parsed.subject)).toEqual([
        '[FIRING:1] CalicoLicenseExpiringSoon cluster=test-send',
        '[RESOLVED] CalicoLicenseExpiringSoon cluster=test-send',
      ]);
      expect(smtp.mails[1]?.parsed.inReplyTo).toBe(smtp.mails[0]?.parsed.messageId);
      expect(smtp.mails.every((m) => m.secure)).toBe(true);
      const failing = run([
        'test-send',
        '--config',
        writeConfig('down.yaml', {
          channels: [
            {
              name: 'mail',
              type: 'email',
              smtp: { host: '127.0.0.1', port: 9, timeout: '1s' },
              from: 'a@example.com',
              to: ['b@example.com'],
            },
          ],
          default_channels: ['mail'],
        }),
        '--channel',
        'mail',
      ]);
      expect(await failing.exited).toBe(1);
      expect(failing.logs().some((l) => l.msg === 'test notification failed')).toBe(true);
    } finally {
      await smtp.close();
    }
  });
});

describe('serve', () => {
  const serveConfig = (name: string, extra: Record<string, unknown> = {}) =>
    writeConfig(name, {
      listen: '127.0.0.1:0',
      store: { path: join(dir, `${name}.db`) },
      runbooks_dir: RUNBOOKS,
      delivery: {
        poll_interval: '20ms',
        backoff: { initial: '100ms', max: '300ms' },
        shutdown_timeout: '2s',
      },
      channels: [slackChannel({ timeout: '20s' })],
      default_channels: ['slack'],
      ...extra,
    });

  async function serve(file: string): Promise<{ p: Started; url: string }> {
    const p = run(['serve', '--config', file]);
    const line = await waitForLog(p, 'license-receiver serving');
    return { p, url: String(line.url) };
  }

  const post = (url: string, body: unknown) =>
    fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('logs JSON with the group identity, never a secret, and stops cleanly on SIGTERM', async () => {
    const { p, url } = await serve(serveConfig('sigterm'));
    expect((await post(url, fixture('firing'))).status).toBe(200);
    await waitForLog(p, 'notification sent');
    expect(await p.stop('SIGTERM')).toBe(0);
    const logs = p.logs();
    const sent = logs.find((l) => l.msg === 'notification sent');
    expect(sent).toMatchObject({
      channel: 'slack',
      group: 'license-receiver{alertname="CalicoLicenseExpiringSoon",cluster="prod"}',
      kind: 'new',
    });
    expect(logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    expect(logs.at(-1)?.msg).toBe('stopped');
    expect(p.output()).not.toContain(slack.token);
  });

  /** The store of a test: SQLite (a file of its own) or PostgreSQL (a schema of its own). */
  const stores = [
    { name: 'SQLite', skip: undefined, store: (name: string) => ({ path: join(dir, `${name}.db`) }) },
    {
      name: 'PostgreSQL',
      skip: pgSkip,
      store: (name: string) => {
        storeEnv = { LR_DATABASE_URL: postgres().url() };
        return { postgres: { url_env: 'LR_DATABASE_URL', schema: postgres().newSchemaName(name) } };
      },
    },
  ];

  for (const backend of stores)
    it.skipIf(backend.skip !== undefined)(
      `outbox list/show/retry/discard beside the running receiver on ${backend.name}: a retried row is sent once`,
      async () => {
        const file = serveConfig('outbox', { store: backend.store('outbox') });
        const outbox = async (...args: string[]) => {
          const p = run(['outbox', ...args, '--config', file]);
          const code = await p.exited;
          return { code, output: p.output() };
        };
        const firing = (cluster: string) => ({
          ...fixture('firing'),
          groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster },
        });
        // Slack is shared by the tests of this file: what this test posted.
        const seen = (cluster: string) =>
          slack.roots().filter((m) => m.text.includes(`cluster=${cluster}:`)).length;
        const baseline = new Map(['dead-a', 'dead-b', 'dead-c'].map((c) => [c, seen(c)]));
        const posted = (cluster: string) => seen(cluster) - (baseline.get(cluster) ?? 0);
        let receiver = await serve(file);
        // Three notifications die: Slack says the channel is gone.
        for (const cluster of ['dead-a', 'dead-b', 'dead-c']) {
          slack.failNext({ error: 'channel_not_found' }, 1, 'chat.postMessage');
          expect((await post(receiver.url, firing(cluster))).status).toBe(200);
          await waitForLog(receiver.p, 'notification dead-lettered', {
            group: `license-receiver{alertname="CalicoLicenseExpiringSoon",cluster="${cluster}"}`,
          });
        }

        const listed = await outbox('list', '--state', 'dead', '--json');
        expect(listed.code).toBe(0);
        const entries = JSON.parse(listed.output) as Record<string, unknown>[];
        expect(entries.map((e) => [e.state, e.channel, e.title, e.attempts, e.last_error])).toEqual(
          ['dead-c', 'dead-b', 'dead-a'].map((c) => [
            'dead',
            'slack',
            `CalicoLicenseExpiringSoon cluster=${c}`,
            1,
            'Slack answered channel_not_found',
          ]),
        );
        expect(entries[0]).toMatchObject({
          group: 'license-receiver{alertname="CalicoLicenseExpiringSoon",cluster="dead-c"}',
          status: 'firing',
          alertnames: ['CalicoLicenseExpiringSoon'],
        });
        expect(Date.parse(String(entries[0]?.created_at))).toBeGreaterThan(Date.now() - 60_000);
        const [idC, idB, idA] = entries.map((e) => String(e.id));
        const table = await outbox('list');
        expect(table.output).toMatch(
          new RegExp(
            `^${idA}\\s+dead\\s+slack\\s.*CalicoLicenseExpiringSoon cluster=dead-a \\(firing\\)\\s+Slack answered channel_not_found$`,
            'm',
          ),
        );
        const shown = await outbox('show', String(idA));
        expect(shown.output).toContain('Last error:   Slack answered channel_not_found');
        expect(shown.output).toContain('Alerts:       firing CalicoLicenseExpiringSoon');

        // Retry: queued again, sent once by the running receiver.
        const retried = await outbox('retry', String(idA));
        expect(retried).toMatchObject({ code: 0 });
        expect(retried.output).toContain(`row ${idA} is queued again: the receiver sends it within 20ms`);
        await waitFor(() => posted('dead-a') === 1, 5000, 'the retried row sent');
        await new Promise((r) => setTimeout(r, 300));
        expect(posted('dead-a')).toBe(1);
        // Retrying it again: it is gone (delivered).
        const again = await outbox('retry', String(idA));
        expect(again.code).toBe(1);
        expect(again.output).toContain(`row ${idA} is not in the outbox`);

        // Discard: gone, never sent.
        expect((await outbox('discard', String(idC))).code).toBe(0);
        expect((await outbox('list', '--json')).output).not.toContain('dead-c');

        // With the receiver stopped, a retry waits for its next start; then it is sent once.
        expect(await receiver.p.stop('SIGTERM')).toBe(0);
        const offline = await outbox('retry', '--all-dead');
        expect(offline.code).toBe(0);
        expect(offline.output).toContain(`row ${idB} is queued again`);
        expect(offline.output).toContain(
          'No receiver is running on this store: the rows are sent when it starts.',
        );
        receiver = await serve(file);
        await waitFor(() => posted('dead-b') === 1, 5000, 'the row retried while stopped');
        expect((await outbox('list')).output).toContain('No rows: the outbox is empty.');
        expect(posted('dead-c')).toBe(0);

        const usage = await outbox('frobnicate');
        expect(usage.code).toBe(2);
        expect(usage.output).toContain('outbox: unknown subcommand "frobnicate"');
        expect((await outbox('retry', 'x1')).output).toContain('"x1" is not a row id');
        expect(await receiver.p.stop('SIGTERM')).toBe(0);
      },
      // Two receiver starts and eleven CLI processes: on a loaded 2-core CI machine that took over 30 s.
      120_000,
    );

  it.skipIf(pgSkip !== undefined)(
    'migrate creates the PostgreSQL schema once; a receiver with migrate: false waits for it; no password in any output',
    async () => {
      const schema = postgres().newSchemaName('migrate');
      storeEnv = { LR_DATABASE_URL: postgres().url() };
      const file = serveConfig('migrate', {
        store: { postgres: { url_env: 'LR_DATABASE_URL', schema, migrate: false } },
      });
      // Before the schema exists: the receiver refuses to start, saying what to run.
      const early = run(['serve', '--config', file]);
      expect(await early.exited).toBe(1);
      expect(early.output()).toContain(`the outbox in schema ${schema} has version none`);
      expect(early.output()).toContain('license-receiver migrate --config FILE');
      const list = run(['outbox', 'list', '--config', file]);
      expect(await list.exited).toBe(1);
      expect(list.output()).toContain('has version none');

      const first = run(['migrate', '--config', file]);
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain(
        `postgres://postgres:***@127.0.0.1:${postgres().port}/postgres (schema ${schema}): schema version 2 created`,
      );
      const second = run(['migrate', '--config', file]);
      expect(await second.exited).toBe(0);
      expect(second.output()).toContain('schema version 2, nothing to do');
      const check = run(['check-config', '--config', file]);
      expect(await check.exited).toBe(0);
      expect(check.output()).toContain(
        `store: postgres://postgres:***@127.0.0.1:${postgres().port}/postgres`,
      );

      const receiver = await serve(file);
      expect((await post(receiver.url, fixture('firing'))).status).toBe(200);
      await waitForLog(receiver.p, 'notification sent');
      expect(await receiver.p.stop('SIGTERM')).toBe(0);

      // A wrong password: a clear error, without the URL's password.
      storeEnv = { LR_DATABASE_URL: postgres().url().replace(PASSWORD, 'wrong-pw-91b') };
      const refused = run(['migrate', '--config', file]);
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toContain('password authentication failed');
      for (const p of [early, list, first, second, check, receiver.p, refused]) {
        expect(p.output()).not.toContain(PASSWORD);
        expect(p.output()).not.toContain('wrong-pw-91b');
      }
    },
    90_000,
  );

  it('after SIGKILL with rows pending, delivers every accepted notification; only the row in flight twice', async () => {
    // One delivery at a time: the first reaches Slack but its answer never comes back before the kill
    // (in flight), so the others wait, pending. (Failing them with 500s instead let a retry be in
    // flight at the kill now and then.)
    const file = serveConfig('sigkill', { channels: [slackChannel({ timeout: '20s', concurrency: 1 })] });
    const first = await serve(file);
    slack.failNext({ delayMs: 60_000 }, 1, 'chat.postMessage');
    const before = slack.roots().length;
    const clusters = ['inflight', 'p1', 'p2', 'p3', 'p4', 'p5'];
    for (const cluster of clusters) {
      const body = { ...fixture('firing'), groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster } };
      expect((await post(first.url, body)).status).toBe(200);
      if (cluster === 'inflight')
        await waitFor(() => slack.roots().length === before + 1, 5000, 'the in-flight post');
    }
    await waitFor(
      async () => {
        const m = await scrape(`${first.url}/metrics`);
        return m.value('license_receiver_outbox_rows', { channel: 'slack', state: 'pending' }) === 5 &&
          m.value('license_receiver_outbox_rows', { channel: 'slack', state: 'inflight' }) === 1
          ? true
          : undefined;
      },
      5000,
      '5 rows pending and 1 in flight',
    );
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    slack.clearFaults();

    const second = await serve(file);
    expect(
      await waitForLog(
        second.p,
        'rows were in flight when the receiver last stopped: they will be sent again',
      ),
    ).toMatchObject({ rows: 1 });
    await waitFor(() => slack.roots().length === before + 7, 10_000, 'every notification delivered');
    await new Promise((r) => setTimeout(r, 300));
    const posted = slack
      .roots()
      .slice(before)
      .map((m) => /cluster=(\S+?):/.exec(m.text)?.[1]);
    expect(posted.filter((c) => c === 'inflight')).toHaveLength(2); // sent once more, as documented
    for (const cluster of clusters.slice(1)) expect(posted.filter((c) => c === cluster)).toHaveLength(1);
    const m = await scrape(`${second.url}/metrics`);
    expect(m.value('license_receiver_outbox_rows', { channel: 'slack', state: 'pending' })).toBe(0);
    expect(await second.p.stop('SIGTERM')).toBe(0);
  });
});
