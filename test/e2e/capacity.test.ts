// Scenario 2: more nodes than licensed → CalicoLicenseNodesOverCapacity reaches only the channels its
// receiver route names (the licensing mailbox), never Slack; back under the limit, it resolves there.
import { describe, expect, it } from 'vitest';
import { nth, settle, usePipeline, waitFor } from './harness.js';

const ALERT = 'CalicoLicenseNodesOverCapacity';

describe('e2e: nodes over the licensed capacity', () => {
  const pipeline = usePipeline({ expiresInDays: 300, maxNodes: 100, nodes: 60 });

  it('mails the licensing mailbox only, and mails the resolve in the same thread', async () => {
    pipeline().writeNodeCount(120);
    await waitFor(() => pipeline().mails.length > 0, 30_000, 'an email');
    const mail = nth(pipeline().mails, 0);
    expect(mail.parsed.subject).toContain(ALERT);
    expect(mail.parsed.text).toContain('120');
    expect(await pipeline().alertState(ALERT)).toBe('firing');

    pipeline().writeNodeCount(60);
    await waitFor(() => pipeline().mails.length > 1, 30_000, 'the resolved email');
    await settle(2000);
    expect(pipeline().mails).toHaveLength(2);
    expect(nth(pipeline().mails, 1).parsed.inReplyTo).toBe(mail.parsed.messageId);

    // The route names only licensing-mail: Slack was never called, and the receiver says so.
    expect(pipeline().slack.calls).toEqual([]);
    expect(await pipeline().receiverSent()).toEqual({ 'licensing-mail new': 1, 'licensing-mail resolve': 1 });
  }, 60_000);
});
