// Slack's request signing: the check against Slack's own documented example, and what the endpoint does
// with forged, stale, unsigned and replayed requests (401, no detail, nothing stored).
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackRequest } from '../src/interactions/signature.js';
import { harnessPerTest } from './harness.js';

// "Verifying requests from Slack" (docs.slack.dev/authentication/verifying-requests-from-slack): the
// example signing secret, timestamp, slash-command body and the signature Slack documents for them.
const VECTOR = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body:
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
    '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
    '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};
const AT_VECTOR = Number(VECTOR.timestamp) * 1000;

describe('Slack request signature', () => {
  it("computes Slack's documented example signature", () => {
    expect(slackSignature(VECTOR.secret, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(slackSignature(VECTOR.secret, VECTOR.timestamp, Buffer.from(VECTOR.body))).toBe(VECTOR.signature);
  });

  it('accepts the example within five minutes of its timestamp', () => {
    const request = { timestamp: VECTOR.timestamp, signature: VECTOR.signature, body: VECTOR.body };
    expect(verifySlackRequest(VECTOR.secret, request, AT_VECTOR + 299_000)).toBe('ok');
    expect(verifySlackRequest(VECTOR.secret, request, AT_VECTOR - 299_000)).toBe('ok');
  });

  it.each([
    ['a changed body', { body: `${VECTOR.body}&text=rm` }, 'forged'],
    ['another secret', { secret: '8f742231b10e8888abcd99yyyzzz85a6' }, 'forged'],
    ['another timestamp (same signature)', { timestamp: '1531420619' }, 'forged'],
    ['a signature of another version', { signature: VECTOR.signature.replace('v0=', 'v1=') }, 'forged'],
    ['a non-numeric timestamp', { timestamp: '1531420618.5' }, 'forged'],
    ['no signature', { signature: undefined }, 'missing'],
    ['no timestamp', { timestamp: undefined }, 'missing'],
  ])('refuses %s', (_what, change, verdict) => {
    const merged = { ...VECTOR, ...change };
    const request = { timestamp: merged.timestamp, signature: merged.signature, body: merged.body };
    expect(verifySlackRequest(merged.secret, request, AT_VECTOR)).toBe(verdict);
  });

  it('refuses a correctly signed request older or newer than five minutes (stale)', () => {
    const request = { timestamp: VECTOR.timestamp, signature: VECTOR.signature, body: VECTOR.body };
    expect(verifySlackRequest(VECTOR.secret, request, AT_VECTOR + 301_000)).toBe('stale');
    expect(verifySlackRequest(VECTOR.secret, request, AT_VECTOR - 301_000)).toBe('stale');
  });
});

const SECRET = 'test-signing-secret-0123456789';
const startHarness = harnessPerTest();

/** A receiver with controls on its Slack channel; Alertmanager is never reached by these requests. */
async function receiverWithInteractivity() {
  return startHarness({
    config: {
      slack_interactivity: {
        signing_secret_env: 'SLACK_SIGNING_SECRET',
        alertmanager_url: 'http://127.0.0.1:9',
      },
    },
    env: { SLACK_SIGNING_SECRET: SECRET },
  });
}

describe('the interactions endpoint', () => {
  const body = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const click = body({
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice' },
    container: { channel_id: 'C0000000001', message_ts: '1.000001' },
    actions: [{ action_id: 'lm:ack', value: `${'a'.repeat(32)}:slack`, action_ts: '1.5' }],
  });
  const post = (url: string, text: string, headers: Record<string, string>) =>
    fetch(`${url}/slack/interactions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: text,
    });
  const signed = (text: string, at = Date.now(), secret = SECRET) => {
    const timestamp = String(Math.floor(at / 1000));
    return {
      'X-Slack-Request-Timestamp': timestamp,
      'X-Slack-Signature': slackSignature(secret, timestamp, text),
    };
  };

  it('answers 401 with no detail to forged, stale and unsigned requests, and stores nothing', async () => {
    const h = await receiverWithInteractivity();
    const answers = await Promise.all([
      post(h.url, click, signed(click, Date.now(), 'another-secret')),
      post(h.url, click, signed(click, Date.now() - 6 * 60_000)),
      post(h.url, click, {}),
      post(h.url, click, { ...signed(click), 'X-Slack-Signature': 'v0=00' }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('unauthorized\n');
    }
    expect(await h.receiver.store.list()).toEqual([]);
  });

  it('stores a signed click once; the same request replayed answers 401', async () => {
    const h = await receiverWithInteractivity();
    const headers = signed(click);
    const first = await post(h.url, click, headers);
    expect(first.status).toBe(200);
    const again = await post(h.url, click, headers);
    expect(again.status).toBe(401);
    expect(await again.text()).toBe('unauthorized\n');
    // One click row (waiting, or handled and in the delivery log), never two. Rows first: one handled
    // in between is in the log by the time it is read (both are written in one transaction).
    const rows = await h.receiver.store.list();
    const log = await h.receiver.store.recent();
    const ids = new Set([
      ...rows.filter((r) => r.channel === 'slack-interactions').map((r) => r.id),
      ...log.filter((l) => l.channel === 'slack-interactions').map((l) => l.rowId),
    ]);
    expect(ids.size).toBe(1);
  });

  it('acknowledges a signed request it has no use for (another payload type) without storing it', async () => {
    const h = await receiverWithInteractivity();
    const other = body({ type: 'view_submission', user: { id: 'U0ALICE' } });
    const res = await post(h.url, other, signed(other));
    expect(res.status).toBe(200);
    expect(await h.receiver.store.list()).toEqual([]);
  });

  it('does not serve the path to GET', async () => {
    const h = await receiverWithInteractivity();
    const res = await fetch(`${h.url}/slack/interactions`);
    expect(res.status).toBe(405);
  });
});
