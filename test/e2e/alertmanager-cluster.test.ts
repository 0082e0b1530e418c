// Scenario 5: two Alertmanagers clustered on loopback, Prometheus sending every alert to both, both
// notifying the receiver → one message per destination, for the firing and for the resolve.
import { describe, expect, it } from 'vitest';
import { nth, settle, usePipeline, waitFor } from './harness.js';

describe('e2e: two clustered Alertmanagers', () => {
  const pipeline = usePipeline({ expiresInDays: 300, clustered: true });

  const notified = async () => {
    const counts: number[] = [];
    for (const i of [0, 1]) {
      const metrics = await pipeline().alertmanagerMetrics(i);
      counts.push(metrics.sum('alertmanager_notifications_total', { integration: 'webhook' }));
    }
    return counts;
  };

  it('sends one Slack message and one email for the firing and one of each for the resolve', async () => {
    const { slack } = pipeline();
    // Both members see each other.
    for (const i of [0, 1])
      await waitFor(
        async () => (await pipeline().alertmanagerMetrics(i)).value('alertmanager_cluster_members') === 2,
        10_000,
        `Alertmanager ${i + 1} to see both members`,
      );

    pipeline().writeLicence(5);
    await waitFor(() => pipeline().slackRoots().length > 0 && pipeline().mails.length > 0, 30_000, 'firing');
    await settle(3000);
    expect(pipeline().slackRoots()).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);
    expect(pipeline().mails).toHaveLength(1);

    pipeline().writeLicence(365);
    const root = nth(pipeline().slackRoots(), 0);
    await waitFor(() => slack.replies(root).length > 0 && pipeline().mails.length > 1, 30_000, 'the resolve');
    await settle(3000);
    expect(slack.messages).toHaveLength(2);
    expect(root.updates).toHaveLength(1);
    expect(pipeline().mails).toHaveLength(2);

    // Every webhook an Alertmanager sent reached the receiver, and what came twice was folded there:
    // each destination got 2 notifications (firing, resolved) out of all those webhooks.
    const perAlertmanager = await notified();
    const total = perAlertmanager.reduce((a, b) => a + b, 0);
    console.log(`e2e: webhook notifications per Alertmanager: ${perAlertmanager.join(', ')}`);
    expect(total, 'both Alertmanagers notified (else this tests nothing)').toBeGreaterThan(2);
    const metrics = await pipeline().receiverMetrics();
    expect(metrics.value('license_receiver_webhook_requests_total', { code: '200' })).toBe(total);
    for (const channel of ['slack', 'licensing-mail']) {
      const folded = metrics
        .samples('license_receiver_notifications_deduplicated_total')
        .filter((s) => s.labels.channel === channel)
        .reduce((sum, s) => sum + s.value, 0);
      expect(folded, channel).toBe(total - 2);
    }
  }, 90_000);
});
