// Scenario 4: the receiver is killed (SIGKILL) between the firing and the resolve, and started again
// on the same store — nothing lost, nothing sent twice:
// - killed before the resolve reaches it: Alertmanager keeps retrying while it is down;
// - killed after it accepted the resolve (Alertmanager will not send it again) but before Slack and
//   the SMTP server, both failing, took it: the resolve waits in its outbox for the restart.
import { describe, expect, it } from 'vitest';
import { nth, settle, slackText, usePipeline, waitFor } from './harness.js';

describe('e2e: the receiver killed between firing and resolve', () => {
  const pipeline = usePipeline({ expiresInDays: 300 });

  it('delivers the resolve exactly once after the restart', async () => {
    const { slack } = pipeline();
    pipeline().writeLicence(5);
    await waitFor(() => pipeline().slackRoots().length > 0 && pipeline().mails.length > 0, 30_000, 'firing');
    const root = nth(pipeline().slackRoots(), 0);
    // Killed only once the receiver has recorded both deliveries: a kill between Slack's answer and
    // that record would (by design: at least once) send the message again after the restart.
    await waitFor(
      async () => {
        const sent = await pipeline().receiverSent();
        return sent['slack new'] === 1 && sent['licensing-mail new'] === 1;
      },
      10_000,
      'the receiver to record both deliveries',
    );

    await pipeline().killReceiver();
    pipeline().writeLicence(365);
    // Alertmanager tried to send the resolve and could not.
    await waitFor(
      async () =>
        (await pipeline().alertmanagerMetrics(0)).sum('alertmanager_notifications_failed_total', {
          integration: 'webhook',
        }) > 0,
      30_000,
      'a failed webhook notification in Alertmanager',
    );
    expect(slack.replies(root)).toHaveLength(0);
    expect(pipeline().mails).toHaveLength(1);

    await pipeline().startReceiver();
    await waitFor(() => slack.replies(root).length > 0 && pipeline().mails.length > 1, 30_000, 'the resolve');
    await settle(3000);
    expect(pipeline().slackRoots()).toHaveLength(1);
    expect(slack.messages).toHaveLength(2); // the root and one reply
    expect(root.updates).toHaveLength(1);
    expect(slackText(root)).toMatch(/resolved/i);
    expect(pipeline().mails).toHaveLength(2);
    expect(nth(pipeline().mails, 1).parsed.inReplyTo).toBe(nth(pipeline().mails, 0).parsed.messageId);
  }, 90_000);

  it('delivers from its outbox a resolve it accepted before it was killed', async () => {
    const { slack, smtp } = pipeline();
    pipeline().writeLicence(5);
    await waitFor(() => pipeline().slackRoots().length > 1 && pipeline().mails.length > 2, 30_000, 'firing');
    await waitFor(
      async () => {
        const sent = await pipeline().receiverSent(); // counts start again with the restarted receiver
        return sent['slack new'] === 1 && sent['licensing-mail new'] === 1;
      },
      10_000,
      'the receiver to record both deliveries',
    );
    const root = nth(pipeline().slackRoots(), 1);
    const firstMail = nth(pipeline().mails, 2);

    slack.failNext({ status: 503 }, 10_000);
    await smtp.down();
    const accepted = async () =>
      (await pipeline().receiverMetrics()).value('license_receiver_webhook_requests_total', {
        code: '200',
      }) ?? 0;
    const before = await accepted();
    pipeline().writeLicence(365);
    await waitFor(async () => (await accepted()) > before, 30_000, 'the receiver to accept the resolve');
    await waitFor(
      async () =>
        (await pipeline().receiverMetrics()).value('license_receiver_notifications_failed_total', {
          channel: 'slack',
          class: 'retryable',
        }),
      10_000,
      'a failed attempt to send the resolve to Slack',
    );
    await pipeline().killReceiver();

    slack.clearFaults();
    await smtp.up();
    await pipeline().startReceiver();
    await waitFor(() => slack.replies(root).length > 0 && pipeline().mails.length > 3, 30_000, 'the resolve');
    await settle(3000);
    expect(pipeline().slackRoots()).toHaveLength(2);
    expect(slack.replies(root)).toHaveLength(1);
    expect(root.updates).toHaveLength(1);
    expect(pipeline().mails).toHaveLength(4);
    expect(nth(pipeline().mails, 3).parsed.inReplyTo).toBe(firstMail.parsed.messageId);
  }, 90_000);
});
