// Fault injection: the store fails while deliveries are under way (a corrupted page, an I/O error, a
// full disk). Sent is sent: a message a peer accepted is never sent again because its record failed;
// rows claimed when writes failed go back to pending once writes work again, without a restart.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/metrics.js';
import { fixture, inCluster } from '../fixtures/payloads.js';
import { type HarnessOptions, harnessPerTest } from '../harness.js';
import { DISK_FULL, FailingStore, IO_ERROR } from './failing-store.js';

const startHarness = harnessPerTest();

const start = (store: FailingStore, options: HarnessOptions = {}) =>
  startHarness({ ...options, receiver: { openStore: store.open } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readyz(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, text: await res.text() };
}

describe('store faults', () => {
  it('records what a peer accepted, retrying the write, never the send; stops that destination meanwhile', async () => {
    const store = new FailingStore();
    const { post, slack, smtp, url, metrics, drained } = await start(store);
    store.failWrites(IO_ERROR, ['complete']);
    expect((await post(fixture('firing'))).status).toBe(200);
    await waitFor(() => slack.messages.length >= 1 && smtp.mails.length >= 1, 5000, 'the first delivery');
    // Backoff is 50–400 ms here: a resend loop would have posted several times by now.
    await sleep(1500);
    expect(slack.messages).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    expect(store.failures.get('complete') ?? 0).toBeGreaterThan(1); // the write was retried
    const notReady = await readyz(url);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toMatch(/not recorded/);
    const m = await metrics();
    expect(m.value('license_receiver_unrecorded_deliveries', { channel: 'slack' })).toBe(1);
    expect(m.value('license_receiver_unrecorded_deliveries', { channel: 'mail' })).toBe(1);

    // Another group waits while the destination's bookkeeping is broken.
    expect((await post(inCluster(fixture('firing'), 'dev'))).status).toBe(200);
    await sleep(300);
    expect(slack.messages).toHaveLength(1);

    store.heal();
    await drained();
    expect(slack.roots()).toHaveLength(2);
    expect(smtp.mails).toHaveLength(2);
    expect((await readyz(url)).status).toBe(200);
    expect((await metrics()).value('license_receiver_unrecorded_deliveries', { channel: 'slack' })).toBe(0);

    // The record that was written late is the one the resolve edits.
    expect((await post(fixture('resolved'))).status).toBe(200);
    await drained();
    expect(slack.roots()).toHaveLength(2);
    const prod = slack.roots().find((r) => r.updates.length > 0);
    expect(prod?.text).toMatch(/RESOLVED/i);
  });

  it('a full disk mid-delivery: not ready, intake 503; the row goes back to pending when writes work again', async () => {
    const store = new FailingStore();
    const { post, slack, url, drained } = await start(store);
    slack.failNext({ delayMs: 600 }, 1, 'chat.postMessage'); // Slack takes it, answers late
    expect((await post(fixture('firing'))).status).toBe(200);
    await waitFor(() => slack.messages.length === 1, 5000, 'the post to reach Slack');
    store.failWrites(DISK_FULL);
    expect((await readyz(url)).status).toBe(503);
    expect((await post(fixture('resolved'))).status).toBe(503);
    await sleep(1200); // Slack answered; neither complete nor reschedule can be written
    expect(slack.messages).toHaveLength(1);

    store.heal();
    await waitFor(async () => (await readyz(url)).status === 200, 5000, 'ready again');
    expect((await post(fixture('resolved'))).status).toBe(200); // Alertmanager's retry
    await drained();
    expect(slack.roots()).toHaveLength(1);
    const [root] = slack.roots();
    expect(root?.updates).toHaveLength(1);
    expect(root?.text).toMatch(/RESOLVED/i);
  });

  it('a Slack error while the disk is full: the retry is scheduled once writes work again', async () => {
    const store = new FailingStore();
    const { post, slack, drained, receiver } = await start(store);
    slack.failNext({ status: 503 }, 1, 'chat.postMessage');
    store.failWrites(DISK_FULL, ['reschedule', 'complete', 'deadLetter']);
    expect((await post(fixture('firing'))).status).toBe(200);
    await waitFor(() => slack.callsOf('chat.postMessage').length === 1, 5000, 'the failed post');
    await sleep(300);
    expect((await receiver.store.stats()).find((s) => s.channel === 'slack')?.inflight).toBe(1);
    store.heal();
    await drained();
    expect(slack.callsOf('chat.postMessage').map((c) => c.status)).toEqual([503, 200]);
    expect(slack.messages).toHaveLength(1);
  });
});
