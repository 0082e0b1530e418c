// Fault injection: the smaller faults a hostile or broken sender (or a hurried operator) can cause —
// a path that is not valid percent-encoding, a 1 MB label, a secret pasted into the config, a
// disguised link in a remediation annotation, a client that sends its request a byte at a time.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { visibleText } from '../../../test/fakes/slack-api.js';
import { parseConfig } from '../../src/config.js';
import { fixture } from '../fixtures/payloads.js';
import { harnessPerTest, TOKEN } from '../harness.js';

const start = harnessPerTest();

type Json = Record<string, unknown>;

describe('bad requests', () => {
  it('POST /webhook/%ZZ (bad percent-encoding) is 400, with or without credentials, never 500', async () => {
    const { url, metrics } = await start();
    for (const headers of [{}, { Authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const res = await fetch(`${url}/webhook/%ZZ`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(fixture('firing')),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'bad request: the path is not valid percent-encoding' });
    }
    expect(
      (await metrics()).value('license_receiver_webhook_requests_total', { code: '500' }),
    ).toBeUndefined();
  });

  it('an impossible date (2026-02-31) is refused, naming the field, not read as 3 March', async () => {
    const { post } = await start();
    const body = fixture('firing');
    body.alerts = (body.alerts as Json[]).map((a) => ({ ...a, startsAt: '2026-02-31T08:00:00Z' }));
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe('alerts[0].startsAt');
  });

  it('a 1 MB label makes no 1 MB mail: every value is capped at 20,000 characters', async () => {
    const { post, smtp, slack, drained } = await start({ config: { limits: { max_body_size: '4MiB' } } });
    const body = fixture('firing');
    const huge = 'x'.repeat(1_000_000);
    body.groupLabels = { ...(body.groupLabels as Json), namespace: huge };
    body.commonLabels = { ...(body.commonLabels as Json), namespace: huge };
    body.alerts = (body.alerts as Json[]).map((a) => ({
      ...a,
      labels: { ...(a.labels as Json), namespace: huge },
    }));
    expect((await post(body)).status).toBe(200);
    await drained();
    const [mail] = smtp.mails;
    expect(mail?.raw.length).toBeLessThan(200_000);
    expect(mail?.parsed.text).toContain('x'.repeat(1000));
    expect(slack.messages).toHaveLength(1);
  });

  it('a Markdown link in a remediation annotation shows its real host in Slack and email', async () => {
    const { post, smtp, slack, drained } = await start();
    const body = fixture('firing');
    body.commonAnnotations = {
      ...(body.commonAnnotations as Json),
      remediation: 'Renew at [totally safe](https://evil.example/renew).',
    };
    await post(body);
    await drained();
    expect(visibleText(slack.messages[0] as NonNullable<(typeof slack.messages)[0]>)).toContain(
      '<https://evil.example/renew|totally safe (evil.example)>',
    );
    expect(smtp.mails[0]?.parsed.html).toContain('totally safe (evil.example)</a>');
    expect(smtp.mails[0]?.parsed.text).toContain('totally safe (https://evil.example/renew)');
  });
});

describe('slow clients', () => {
  /** Sends a request a few bytes at a time; resolves with how long the server kept the connection. */
  function slowLoris(url: string, complete: 'headers' | 'body'): Promise<number> {
    const { hostname, port } = new URL(url);
    const head =
      'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n';
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = net.connect(Number(port), hostname);
      let sent = 0;
      const text =
        complete === 'headers' ? `${head}X-Slow: ${'a'.repeat(1000)}` : `${head}\r\n${'{'.repeat(5000)}`;
      if (complete === 'body') {
        socket.write(text.slice(0, head.length + 2));
        sent = head.length + 2;
      }
      const timer = setInterval(() => {
        if (!socket.writable) return;
        socket.write(text.slice(sent, sent + 2));
        sent += 2;
      }, 100);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      setTimeout(() => socket.destroy(), 20_000);
    });
  }

  it('cuts a request whose headers or body take longer than limits.request_timeout', async () => {
    const { url } = await start({ config: { limits: { request_timeout: '1s' } } });
    const [headers, body] = await Promise.all([slowLoris(url, 'headers'), slowLoris(url, 'body')]);
    expect(headers).toBeGreaterThanOrEqual(900);
    expect(headers).toBeLessThan(3000);
    expect(body).toBeGreaterThanOrEqual(900);
    expect(body).toBeLessThan(3000);
  });
});

describe('config errors', () => {
  const load = (document: Json) => {
    try {
      parseConfig(document, '/etc/receiver.yaml', { secrets: true, env: { SMTP_PASS: 'x' } });
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected a config error');
  };
  const slack = (extra: Json) => ({
    channels: [{ name: 's', type: 'slack', channel: '#c', ...extra }],
  });
  const mail = (smtp: Json) => ({
    channels: [
      {
        name: 'm',
        type: 'email',
        from: 'a@example.com',
        to: ['b@example.com'],
        smtp: { host: 'h', ...smtp },
      },
    ],
  });

  it.each([
    [
      'a token pasted into token_env',
      slack({ token_env: 'xoxb-1234-5678-SeCrEt' }),
      'xoxb-1234-5678-SeCrEt',
      'channels[0].token_env',
    ],
    [
      'a token pasted into token_file',
      slack({ token_file: 'xoxb-1234-5678-SeCrEt' }),
      'xoxb-1234-5678-SeCrEt',
      'channels[0].token_file',
    ],
    [
      'a password under an unknown key',
      mail({ password: 'hunter2-SeCrEt' }),
      'hunter2-SeCrEt',
      'channels[0].smtp.password',
    ],
    [
      'a password pasted into password_env',
      mail({ username: 'u', password_env: 'hunter2SeCrEt' }),
      'hunter2SeCrEt',
      'channels[0].smtp.password_env',
    ],
    [
      'a token under auth',
      { ...slack({ token_env: 'T' }), auth: { bearer_token: 'abc-SeCrEt' } },
      'abc-SeCrEt',
      'auth.bearer_token',
    ],
  ])('%s: names the key, never echoes the value', (_name, document, secret, key) => {
    const message = load(document as Json);
    expect(message).toContain(key);
    expect(message).not.toContain(secret);
    expect(message).toContain('not shown');
  });
});
