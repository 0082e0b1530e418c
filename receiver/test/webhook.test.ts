// The generic webhook channel end to end: the real receiver in-process posting to a fake endpoint that
// records the exact bytes. Wire format, an HMAC signature checked by openssl (not by our own code),
// delivery ids across retries and events, Retry-After, permanent errors and config errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSink } from '../../test/fakes/webhook-sink.js';
import { waitFor } from '../../test/helpers/metrics.js';
import type { HttpError } from '../src/channels/http.js';
import { createWebhookChannel } from '../src/channels/webhook/index.js';
import { renderWebhookBody, type WebhookBody } from '../src/channels/webhook/render.js';
import { ConfigError, parseConfig } from '../src/config.js';
import type { DeliveryEvent } from '../src/outbox/plan.js';
import { VERSION } from '../src/version.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture, ruleAlert } from './fixtures/payloads.js';
import { cleanupPki, type Harness, startHarness } from './harness.js';

const SECRET = 'whsec-7f3a9c-test-secret';
const BEARER = 'hook-bearer-0b9e41';

let dir: string;
let secretFile: string;
let tokenFile: string;
let h: Harness | undefined;
let sink: WebhookSink | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-webhook-'));
  secretFile = join(dir, 'hook-secret');
  tokenFile = join(dir, 'hook-token');
  writeFileSync(secretFile, `${SECRET}\n`);
  writeFileSync(tokenFile, `${BEARER}\n`);
});
afterEach(async () => {
  await h?.stop();
  await sink?.close();
  h = undefined;
  sink = undefined;
});
afterAll(() => {
  cleanupPki();
  rmSync(dir, { recursive: true, force: true });
});

/** The receiver with one webhook channel `hook` posting to a fresh sink at /alerts. */
async function start(
  extra: Record<string, unknown> | ((sink: WebhookSink) => Record<string, unknown>) = {},
): Promise<{ h: Harness; sink: WebhookSink }> {
  sink = await WebhookSink.start();
  const channel = typeof extra === 'function' ? extra(sink) : extra;
  h = await startHarness({
    channels: [
      {
        name: 'hook',
        type: 'webhook',
        url: `${sink.url}/alerts`,
        secret_file: secretFile,
        rate_limit: { per_second: 50, burst: 50 },
        timeout: '2s',
        ...channel,
      },
    ],
  });
  return { h, sink };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** HMAC-SHA256 by openssl, an implementation independent of the receiver's. */
function opensslHmac(secret: string, data: Buffer): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: data }).toString();
  const hex = /([0-9a-f]{64})\s*$/.exec(out)?.[1];
  if (!hex) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

describe('webhook channel', () => {
  it('POSTs a firing group once with the documented headers and body', async () => {
    const { h, sink } = await start({ headers: { 'X-Team': 'platform' } });
    expect((await h.post(fixture('firing'))).status).toBe(200);
    await h.drained();
    await pause(200); // nothing else arrives
    expect(sink.requests).toHaveLength(1);
    const [request] = sink.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/alerts');
    expect(request?.status).toBe(200);
    expect(sink.header(0, 'content-type')).toBe('application/json');
    expect(sink.header(0, 'user-agent')).toBe(`license-receiver/${VERSION}`);
    expect(sink.header(0, 'x-license-monitor-event')).toBe('new');
    expect(sink.header(0, 'x-license-monitor-delivery')).toMatch(/^[0-9a-f]{32}$/);
    expect(sink.header(0, 'x-team')).toBe('platform');
    expect(sink.header(0, 'authorization')).toBeUndefined();
    expect(sink.header(0, 'x-license-monitor-timestamp')).toMatch(/^\d{10}$/);
    expect(sink.header(0, 'x-license-monitor-signature')).toMatch(/^sha256=[0-9a-f]{64}$/);

    const body = sink.json<WebhookBody>(0);
    expect(body.version).toBe('1');
    expect(body.event).toBe('new');
    expect(body.deliveryId).toBe(sink.header(0, 'x-license-monitor-delivery'));
    expect(body.group).toMatchObject({
      receiver: 'license-receiver',
      status: 'firing',
      title: 'CalicoLicenseExpiringSoon cluster=prod',
      alertname: 'CalicoLicenseExpiringSoon',
      cluster: 'prod',
      severity: 'warning',
      startedAt: '2026-11-28T08:00:00.000Z',
      facts: {},
      truncatedAlerts: 0,
      groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster: 'prod' },
    });
    expect(body.group.id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.group.openedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.group.resolvedAt).toBeUndefined();
    expect(body.remediation?.source).toBe('runbook');
    expect(body.remediation?.runbookFile).toBe('CalicoLicenseExpiringSoon.md');
    expect(body.remediation?.text).toContain('Ask the **contract owner** to renew with Tigera');
    expect(body.remediation?.text).not.toContain('Nothing here belongs to the Mitigation section');
    expect(body.links.runbook).toBe('https://runbooks.example.com/CalicoLicenseExpiringSoon');
    expect(body.links.graph).toMatch(/^http:\/\/prometheus\.example\.com:9090\/graph/);
    expect(body.links.silence).toMatch(/^http:\/\/alertmanager\.example\.com:9093\/#\/silences\/new/);
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({
      fingerprint: 'a1b2c3d4e5f60718',
      status: 'firing',
      startsAt: '2026-11-28T08:00:00.000Z',
    });
    expect(body.alerts[0]?.endsAt).toBeUndefined();
    expect(body.alertsLeftOut).toBe(0);
    expect(body.changes).toEqual({ newlyFiring: ['a1b2c3d4e5f60718'], newlyResolved: [] });
    expect(body.text).toMatch(/^\[FIRING:1\] CalicoLicenseExpiringSoon cluster=prod\n/);
    expect(body.text).toContain('What to do (from the runbook CalicoLicenseExpiringSoon.md):');
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256 as openssl computes it; a tampered body fails', async () => {
    const { h, sink } = await start();
    await h.post(fixture('firing'));
    await h.drained();
    const [request] = sink.requests;
    if (!request) throw new Error('no request arrived');
    const timestamp = sink.header(0, 'x-license-monitor-timestamp') as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const signed = Buffer.concat([Buffer.from(`${timestamp}.`), request.body]);
    const signature = sink.header(0, 'x-license-monitor-signature');
    expect(signature).toBe(`sha256=${opensslHmac(SECRET, signed)}`);

    const tampered = Buffer.from(signed);
    const at = tampered.indexOf('"event":"new"') + '"event":"'.length;
    tampered[at] = 'N'.charCodeAt(0);
    expect(signature).not.toBe(`sha256=${opensslHmac(SECRET, tampered)}`);
    expect(signature).not.toBe(`sha256=${opensslHmac('another-secret', signed)}`);
    expect(signature).not.toBe(
      `sha256=${opensslHmac(SECRET, Buffer.concat([Buffer.from(`${Number(timestamp) + 1}.`), request.body]))}`,
    );
  });

  it('sends the resolve with a new delivery id; a retry of one event keeps its delivery id', async () => {
    const { h, sink } = await start();
    sink.failNext({ status: 503 }, 1);
    await h.post(fixture('firing'));
    await h.drained();
    await h.post(fixture('resolved'));
    await h.drained();
    await pause(200);
    expect(
      sink.requests.map((r) => [r.status, sink.header(sink.requests.indexOf(r), 'x-license-monitor-event')]),
    ).toEqual([
      [503, 'new'],
      [200, 'new'],
      [200, 'resolve'],
    ]);
    const ids = sink.requests.map((_, i) => sink.header(i, 'x-license-monitor-delivery'));
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    const [first, retry, resolve] = [0, 1, 2].map((i) => sink.json<WebhookBody>(i)) as [
      WebhookBody,
      WebhookBody,
      WebhookBody,
    ];
    expect(retry.deliveryId).toBe(first.deliveryId);
    expect(resolve.deliveryId).toBe(ids[2]);
    expect(resolve.event).toBe('resolve');
    expect(resolve.group.id).toBe(first.group.id);
    expect(resolve.group.status).toBe('resolved');
    expect(resolve.group.resolvedAt).toBe('2026-11-28T10:30:00.000Z');
    expect(resolve.group.openedAt).toBe(retry.group.openedAt); // when the delivered `new` was sent
    expect(resolve.alerts[0]).toMatchObject({ status: 'resolved', endsAt: '2026-11-28T10:30:00.000Z' });
    expect(resolve.changes).toEqual({ newlyFiring: [], newlyResolved: ['a1b2c3d4e5f60718'] });
    expect(resolve.text).toMatch(
      /^\[RESOLVED\] CalicoLicenseExpiringSoon cluster=prod\nResolved at 2026-11-28 10:30 UTC after firing for 2h 30m\.\nWas: /,
    );
    // Nothing left to do: no remediation, no runbook or silence link.
    expect(resolve.remediation).toBeUndefined();
    expect(Object.keys(resolve.links)).toEqual(['graph']);
  });

  it('honours Retry-After on 429 and delivers exactly once', async () => {
    const { h, sink } = await start();
    sink.failNext({ status: 429, retryAfter: 1 }, 1);
    await h.post(fixture('firing'));
    await h.drained(5000);
    await pause(200);
    expect(sink.requests.map((r) => r.status)).toEqual([429, 200]);
    expect((sink.requests[1]?.at ?? 0) - (sink.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(sink.delivered).toHaveLength(1);
    const m = await h.metrics();
    expect(m.value('license_receiver_rate_limited_total', { channel: 'hook' })).toBe(1);
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'hook', kind: 'new' })).toBe(1);
  });

  it('dead-letters a 400 with the peer status and its words, after one request', async () => {
    const { h, sink } = await start();
    const words = `invalid payload: field "severity" is not allowed. ${'x'.repeat(1000)}`;
    sink.failNext({ status: 400, body: JSON.stringify({ error: words }) }, 1);
    await h.post(fixture('firing'));
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'dead row');
    await pause(300); // no retry comes
    expect(sink.requests).toHaveLength(1);
    const [dead] = await h.receiver.store.dead();
    expect(dead?.error).toMatch(
      /^Webhook answered HTTP 400 to POST <url>: \{"error":"invalid payload: field/,
    );
    expect(dead?.error).toContain('\\"severity\\" is not allowed');
    expect(dead?.error.length).toBeLessThan(400); // the peer's body is cut at 300 characters
    expect(dead?.error).not.toContain(sink.url.replace('http://', ''));
  });

  it('does not follow a redirect: 302 is permanent', async () => {
    const { h, sink } = await start();
    sink.failNext({ status: 302, headers: { Location: `${sink.url}/elsewhere` } }, 1);
    await h.post(fixture('firing'));
    await waitFor(async () => (await h.receiver.store.dead()).length === 1, 5000, 'dead row');
    await pause(200);
    expect(sink.requests.map((r) => r.path)).toEqual(['/alerts']);
    expect((await h.receiver.store.dead())[0]?.error).toMatch(/HTTP 302 .*redirects are not followed/);
  });

  it('without a secret sends no signature; a bearer token goes in Authorization', async () => {
    const { h, sink } = await start({ secret_file: undefined, bearer_token_file: tokenFile });
    await h.post(fixture('firing'));
    await h.drained();
    expect(sink.requests).toHaveLength(1);
    expect(sink.header(0, 'x-license-monitor-signature')).toBeUndefined();
    expect(sink.header(0, 'x-license-monitor-timestamp')).toBeUndefined();
    expect(sink.header(0, 'authorization')).toBe(`Bearer ${BEARER}`);
    expect(sink.header(0, 'x-license-monitor-delivery')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps a trailing slash and query of the URL as written', async () => {
    const { h, sink } = await start((s) => ({ url: undefined, url_file: writeUrl(s, '/hooks/abc/?key=k1') }));
    await h.post(fixture('firing'));
    await h.drained();
    expect(sink.requests.map((r) => r.path)).toEqual(['/hooks/abc/?key=k1']);
  });
});

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let urlFiles = 0;
/** A url_file pointing at the current sink with `path`. */
function writeUrl(target: WebhookSink, path: string): string {
  const file = join(dir, `url-${urlFiles++}`);
  writeFileSync(file, `${target.url}${path}\n`);
  return file;
}

describe('webhook body', () => {
  it("carries the rule's facts in camelCase under group.facts", () => {
    const now = Date.parse('2026-11-10T06:00:00Z');
    const expiry = renderWebhookBody(plannedEvent(ruleAlert('agent/CalicoLicenseExpiryCritical'), { now }), {
      maxAlerts: 10,
    });
    expect(expiry.group.facts).toEqual({
      daysLeft: '6',
      expiresAt: '2026-11-17T02:00:00Z',
      gracePeriodEndsAt: '2026-12-17T02:00:00Z',
    });
    const cores = renderWebhookBody(
      plannedEvent(ruleAlert('agent/CalicoLicenseCoresCapacityForecast'), { now }),
      {
        maxAlerts: 10,
      },
    );
    expect(Object.keys(cores.group.facts)).toEqual(['coresUsed', 'coresLicensed', 'coresForecast']);
  });
});

describe('webhook channel on its own', () => {
  /** A delivery event of the firing fixture, as the delivery loop would plan it. */
  function firingEvent(): DeliveryEvent {
    return plannedEvent(fixture('firing'), { now: Date.now() });
  }

  it('sends what render shows; logs and errors carry neither URL, token nor signature', async () => {
    sink = await WebhookSink.start();
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const settings = {
      type: 'webhook' as const,
      name: 'hook',
      bearerToken: BEARER,
      secret: SECRET,
      headers: {},
      maxAlerts: 100,
      rateLimit: { perSecond: 10, burst: 10 },
      timeoutMs: 300,
    };
    const channel = createWebhookChannel({ ...settings, url: `${sink.url}/hooks/s3cret-path` }, logger);
    const event = firingEvent();
    const errors: HttpError[] = [];
    const attempt = async (c = channel) => {
      try {
        expect(await c.send(event, undefined)).toBeUndefined();
      } catch (err) {
        errors.push(err as HttpError);
      }
    };
    sink.failNext({ status: 500, body: 'boom' });
    sink.failNext({ delayMs: 1000 });
    await attempt(); // 500
    await attempt(); // no answer within the timeout
    await attempt(); // delivered
    const closed = await closedPort();
    await attempt(
      createWebhookChannel({ ...settings, url: `http://127.0.0.1:${closed}/hooks/s3cret-path` }, logger),
    );
    expect(errors.map((e) => [e.retryable, e.status])).toEqual([
      [true, 500],
      [true, undefined],
      [true, undefined],
    ]);
    expect(errors[0]?.message).toBe('Webhook answered HTTP 500 to POST <url>: boom');
    expect(errors[1]?.message).toBe('Webhook POST <url> failed: no answer within 300 ms');
    expect(errors[2]?.message).toMatch(/^Webhook POST <url> failed: fetch failed: ECONNREFUSED/);

    expect(sink.requests).toHaveLength(3);
    const [rendered] = channel.render(event);
    expect(rendered?.action).toBe('POST webhook');
    expect(sink.json(2)).toEqual(rendered?.body);

    const said = [...lines, ...errors.map((e) => e.message)].join('\n');
    expect(lines.some((l) => l.includes('webhook delivered'))).toBe(true);
    const signatures = sink.requests.map((_, i) => sink?.header(i, 'x-license-monitor-signature') as string);
    for (const secret of ['s3cret-path', '127.0.0.1', BEARER, SECRET, ...signatures])
      expect(said).not.toContain(secret);
  });
});

describe('webhook config', () => {
  const load = (channel: Record<string, unknown>) => () =>
    parseConfig(
      { channels: [{ name: 'hook', type: 'webhook', ...channel }], default_channels: ['hook'] },
      '/etc/receiver.yaml',
      { secrets: false },
    );

  it('accepts a minimal channel with defaults', () => {
    expect(load({ url: 'https://hooks.example.com/x' })().channels[0]).toMatchObject({
      type: 'webhook',
      url: 'https://hooks.example.com/x',
      headers: {},
      maxAlerts: 100,
      timeoutMs: 10_000,
    });
  });

  it('rejects two of url, url_env and url_file, naming the key and value', () => {
    expect(load({ url: 'https://hooks.example.com/x', url_env: 'HOOK_URL' })).toThrow(ConfigError);
    expect(load({ url: 'https://hooks.example.com/x', url_env: 'HOOK_URL' })).toThrow(
      '/etc/receiver.yaml: channels[0].url_env: "HOOK_URL" is not valid: expected only one of url, url_env and url_file (url is set too)',
    );
    expect(load({ url_env: 'HOOK_URL', url_file: '/run/secrets/hook-url' })).toThrow(
      'channels[0].url_file: "/run/secrets/hook-url" is not valid: expected only one of url, url_env and url_file',
    );
    expect(load({})).toThrow('channels[0].url: missing: expected the http(s) URL to POST to');
  });

  it('rejects a header named Authorization without showing its value', () => {
    const attempt = load({
      url: 'https://hooks.example.com/x',
      headers: { 'X-Team': 'platform', Authorization: 'Bearer t0ps3cret' },
    });
    expect(attempt).toThrow(
      /channels\[0\]\.headers: "Authorization" is not valid: expected header names the channel does not set itself \(use bearer_token_env or bearer_token_file for Authorization/,
    );
    try {
      attempt();
    } catch (err) {
      expect((err as Error).message).not.toContain('t0ps3cret');
    }
    expect(
      load({ url: 'https://hooks.example.com/x', headers: { 'x-license-monitor-event': 'new' } }),
    ).toThrow('channels[0].headers: "x-license-monitor-event" is not valid');
  });

  it('rejects credentials in the URL', () => {
    expect(load({ url: 'https://user:pw@hooks.example.com/x' })).toThrow(
      'channels[0].url: "https://***@hooks.example.com/x" is not valid: expected an http(s) URL without user:password@',
    );
  });
});
