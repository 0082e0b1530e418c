// The fake Slack reads messages back as the Web API does: conversations.history newest first,
// conversations.replies parent first, `oldest` exclusive unless `inclusive`, cursor pagination,
// metadata only with include_all_metadata, missing_scope naming the scope. Driven through the real
// SDK (@slack/web-api), as the receiver drives it.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from './slack-api.js';

let slack: FakeSlack;
let client: WebClient;
beforeAll(async () => {
  slack = await FakeSlack.start({ rateLimit: false });
  client = new WebClient(slack.token, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(() => slack.close());

const metadata = (n: number) => ({ event_type: 'test_event', event_payload: { n } });

describe('fake Slack: reading back', () => {
  it('pages conversations.history newest first, with metadata only when asked', async () => {
    const first = await client.chat.postMessage({ channel: '#history', text: 'm0', metadata: metadata(0) });
    const channel = String(first.channel);
    for (let n = 1; n < 5; n++)
      await client.chat.postMessage({ channel, text: `m${n}`, metadata: metadata(n) });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.conversations.history({
        channel,
        limit: 2,
        include_all_metadata: true,
        cursor,
      });
      seen.push(
        ...(page.messages ?? []).map(
          (m) => `${m.text}:${(m.metadata?.event_payload as { n?: number } | undefined)?.n}`,
        ),
      );
      cursor = page.response_metadata?.next_cursor || undefined;
      expect(page.has_more).toBe(cursor !== undefined);
    } while (cursor);
    expect(seen).toEqual(['m4:4', 'm3:3', 'm2:2', 'm1:1', 'm0:0']);
    const plain = await client.conversations.history({ channel });
    expect(plain.messages?.[0]?.metadata).toBeUndefined();
    const since = await client.conversations.history({ channel, oldest: String(first.ts) });
    expect(since.messages?.map((m) => m.text)).toEqual(['m4', 'm3', 'm2', 'm1']);
    const inclusive = await client.conversations.history({
      channel,
      oldest: String(first.ts),
      inclusive: true,
    });
    expect(inclusive.messages).toHaveLength(5);
  });

  it('answers conversations.replies with the parent first; history leaves replies out', async () => {
    const root = await client.chat.postMessage({ channel: '#threads', text: 'root' });
    const channel = String(root.channel);
    await client.chat.postMessage({ channel, thread_ts: String(root.ts), text: 'r1', metadata: metadata(1) });
    await client.chat.postMessage({ channel, thread_ts: String(root.ts), text: 'r2' });
    const thread = await client.conversations.replies({
      channel,
      ts: String(root.ts),
      include_all_metadata: true,
    });
    expect(thread.messages?.map((m) => m.text)).toEqual(['root', 'r1', 'r2']);
    expect(thread.messages?.[1]?.metadata?.event_type).toBe('test_event');
    expect((await client.conversations.history({ channel })).messages?.map((m) => m.text)).toEqual(['root']);
  });

  it('needs a channel ID for history, lists channels by name, and names a missing scope', async () => {
    await expect(client.conversations.history({ channel: '#threads' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    const list = await client.conversations.list({ limit: 1000 });
    expect(list.channels?.find((c) => c.name === 'threads')?.id).toBe(slack.channelId('threads'));
    const narrow = await FakeSlack.start({ scopes: ['chat:write'] });
    try {
      const other = new WebClient(narrow.token, { slackApiUrl: narrow.apiUrl, retryConfig: { retries: 0 } });
      await expect(
        other.conversations.history({ channel: narrow.channelId('platform-alerts') }),
      ).rejects.toMatchObject({ data: { error: 'missing_scope', needed: 'channels:history' } });
    } finally {
      await narrow.close();
    }
  });
});
