// Fault injection: a slow Slack. Slack takes a post and answers after the channel's timeout; the next
// attempt looks the delivery up (message metadata, conversations.history / .replies) and posts only
// what is not there. A slow call of one group does not hold up the others.
import { describe, expect, it } from 'vitest';
import { visibleText } from '../../../test/fakes/slack-api.js';
import { waitFor } from '../../../test/helpers/metrics.js';
import { fixture, inCluster, withAlerts } from '../fixtures/payloads.js';
import { type HarnessOptions, harnessPerTest } from '../harness.js';

const startHarness = harnessPerTest();

type Json = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Slack only, with a short timeout so that a late answer is a timeout. */
const start = (slackConfig: Json = {}, options: HarnessOptions = {}) =>
  startHarness({
    ...options,
    slackConfig: { timeout: '300ms', ...slackConfig },
    config: { default_channels: ['slack'], ...options.config },
  });

describe('Slack answers after the timeout', () => {
  it('looks the post up before posting again: one message, and later events edit it', async () => {
    const { post, slack, drained, metrics } = await start();
    slack.failNext({ delayMs: 900 }, 1, 'chat.postMessage');
    expect((await post(fixture('firing'))).status).toBe(200);
    await drained(5000);
    await sleep(1000); // the late answer arrives; nothing else is posted
    expect(slack.roots()).toHaveLength(1);
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(slack.callsOf('conversations.history').length).toBeGreaterThanOrEqual(1);
    const m = await metrics();
    expect(m.value('license_receiver_delivery_lookups_total', { channel: 'slack', result: 'found' })).toBe(1);

    // The message found is the group's message: the resolve edits it.
    await post(fixture('resolved'));
    await drained();
    const [root] = slack.roots();
    expect(slack.roots()).toHaveLength(1);
    expect(root?.updates).toHaveLength(1);
    expect(root?.text).toMatch(/RESOLVED/i);
  });

  it('looks a thread reply up in the thread before replying again', async () => {
    const { post, slack, drained, metrics } = await start();
    await post(fixture('firing'));
    await drained();
    const firing = fixture('firing');
    const second = { ...(firing.alerts as Json[])[0], fingerprint: 'b000000000000002' } as Json;
    second.labels = { ...(second.labels as Json), node: 'node-2' };
    slack.failNext({ delayMs: 900 }, 1, 'chat.postMessage'); // the update's thread reply
    await post(withAlerts(firing, [second]));
    await drained(5000);
    await sleep(1000);
    const [root] = slack.roots();
    expect(slack.replies(root as NonNullable<typeof root>)).toHaveLength(1);
    expect(slack.callsOf('conversations.replies').length).toBeGreaterThanOrEqual(1);
    expect(
      (await metrics()).value('license_receiver_delivery_lookups_total', {
        channel: 'slack',
        result: 'found',
      }),
    ).toBe(1);
  });

  it('retries the look-up, not the post, when the look-up fails', async () => {
    const { post, slack, drained, metrics } = await start();
    slack.failNext({ delayMs: 900 }, 1, 'chat.postMessage');
    slack.failNext({ status: 500 }, 2, 'conversations.history');
    await post(fixture('firing'));
    await drained(8000);
    await sleep(800);
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(slack.callsOf('conversations.history').map((c) => c.status)).toEqual([500, 500, 200]);
    expect(slack.roots()).toHaveLength(1);
    const m = await metrics();
    expect(m.value('license_receiver_delivery_lookups_total', { channel: 'slack', result: 'failed' })).toBe(
      2,
    );
    expect(m.value('license_receiver_delivery_lookups_total', { channel: 'slack', result: 'found' })).toBe(1);
  });

  it('without the history scope it never posts blind: the dead letter names the scope', async () => {
    const { post, slack, receiver } = await start(
      {},
      {
        slack: { rateLimit: false, scopes: ['chat:write', 'channels:read'] },
        config: {
          default_channels: ['slack'],
          delivery: { poll_interval: '20ms', backoff: { initial: '50ms', max: '200ms' }, max_age: '2s' },
        },
      },
    );
    slack.failNext({ delayMs: 900 }, 1, 'chat.postMessage');
    await post(fixture('firing'));
    await waitFor(async () => (await receiver.store.dead()).length === 1, 8000, 'the dead letter');
    expect(slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect((await receiver.store.dead())[0]?.error).toMatch(/needs the scope channels:history/);
  });

  it('posts again when the look-up shows the earlier attempt never reached Slack', async () => {
    const { post, slack, drained, metrics } = await start();
    slack.failNext({ status: 503 }, 1, 'chat.postMessage');
    await post(fixture('firing'));
    await drained();
    expect(slack.callsOf('chat.postMessage').map((c) => c.status)).toEqual([503, 200]);
    expect(slack.roots()).toHaveLength(1);
    expect(
      (await metrics()).value('license_receiver_delivery_lookups_total', {
        channel: 'slack',
        result: 'absent',
      }),
    ).toBe(1);
  });
});

describe('a slow Slack and other groups', () => {
  it('other groups do not wait for a slow call; one group stays in order', async () => {
    const { post, slack, drained } = await start({ timeout: '5s' });
    slack.failNext({ delayMs: 1500 }, 1, 'chat.postMessage');
    await post(fixture('firing')); // prod: its post is answered after 1.5 s
    await waitFor(() => slack.callsOf('chat.postMessage').length === 1, 3000, 'the slow post');
    await post(fixture('resolved')); // prod again: must wait for the slow post
    await post(inCluster(fixture('firing'), 'dev'));
    await post(inCluster(fixture('firing'), 'staging'));
    await drained(8000);
    // prod's slow post, dev's and staging's posts, then prod's resolve (an edit and a thread reply).
    const [slow, dev, staging, reply] = slack.callsOf('chat.postMessage');
    const slowAnswer = slow?.answeredAt ?? Number.POSITIVE_INFINITY;
    for (const other of [dev, staging]) expect(other?.answeredAt ?? slowAnswer).toBeLessThan(slowAnswer);
    const [update] = slack.callsOf('chat.update');
    expect(update?.at ?? 0).toBeGreaterThanOrEqual(slowAnswer);
    expect(reply?.at ?? 0).toBeGreaterThanOrEqual(slowAnswer);
    const prod = slack.roots().find((r) => visibleText(r).includes('prod'));
    expect(prod?.text).toMatch(/RESOLVED/i);
  });
});
