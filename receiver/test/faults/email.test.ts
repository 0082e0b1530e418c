// Fault injection: an SMTP server that refuses one recipient at RCPT TO. A temporary refusal (450) is
// retried for that recipient alone — the others do not get the mail twice; a permanent one (550) is
// reported (warning, metric, a dead letter naming the address) while the others count as sent.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/metrics.js';
import { fixture } from '../fixtures/payloads.js';
import { type Harness, harnessPerTest } from '../harness.js';

const startHarness = harnessPerTest();

const OPS = 'ops@example.com';
const SECOND = 'second@example.com';

const start = () =>
  startHarness({ mailConfig: { to: [OPS, SECOND] }, config: { default_channels: ['mail'] } });

const to = (h: Harness, address: string) => h.smtp.mails.filter((m) => m.envelope.to.includes(address));

describe('SMTP refuses one recipient', () => {
  it('450: the refused recipient gets the same mail alone later; the other gets it once', async () => {
    const harness = await start();
    harness.smtp.refuseRecipient(SECOND, 450, 'Greylisted, try again later', 1);
    expect((await harness.post(fixture('firing'))).status).toBe(200);
    await waitFor(() => to(harness, SECOND).length === 1, 5000, 'the retry to the refused recipient');
    await harness.drained();
    expect(to(harness, OPS)).toHaveLength(1);
    const [first, retry] = harness.smtp.mails;
    expect(first?.envelope.to).toEqual([OPS]);
    expect(retry?.envelope.to).toEqual([SECOND]);
    // The same message: same Message-ID and headers, only the envelope differs.
    expect(retry?.parsed.messageId).toBe(first?.parsed.messageId);
    expect(retry?.parsed.subject).toBe(first?.parsed.subject);
    expect(retry?.parsed.text).toBe(first?.parsed.text);
    const m = await harness.metrics();
    expect(
      m.value('license_receiver_recipients_refused_total', { channel: 'mail', class: 'temporary' }),
    ).toBe(1);
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'mail', kind: 'part' })).toBe(1);

    // The next mail of the group goes to both again, in the same thread.
    await harness.post(fixture('resolved'));
    await harness.drained();
    const resolve = harness.smtp.mails.at(-1);
    expect(resolve?.envelope.to).toEqual([OPS, SECOND]);
    expect(resolve?.parsed.inReplyTo).toBe(first?.parsed.messageId);
  });

  it('550: reported as a dead letter naming the address, with a metric; the others count as sent', async () => {
    const harness = await start();
    harness.smtp.refuseRecipient(SECOND, 550, 'No such user here');
    expect((await harness.post(fixture('firing'))).status).toBe(200);
    await waitFor(async () => (await harness.receiver.store.dead()).length === 1, 5000, 'the dead letter');
    await harness.drained();
    expect(harness.smtp.mails.map((m) => m.envelope.to)).toEqual([[OPS]]);
    const [dead] = await harness.receiver.store.dead();
    expect(dead?.error).toMatch(/second@example\.com refused: .*550 No such user here/);
    const m = await harness.metrics();
    expect(
      m.value('license_receiver_recipients_refused_total', { channel: 'mail', class: 'permanent' }),
    ).toBe(1);
    expect(m.value('license_receiver_notifications_sent_total', { channel: 'mail', kind: 'new' })).toBe(1);
    expect(m.value('license_receiver_notifications_dead_lettered_total', { channel: 'mail' })).toBe(1);
  });
});
