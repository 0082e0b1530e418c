// The fake Teams Workflows webhook answers as the Power Automate trigger does, and its flow rejects
// what Teams could not show.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTeams, TEAMS_MAX_BYTES, validateCard } from './teams-webhook.js';

let teams: FakeTeams;
beforeAll(async () => {
  teams = await FakeTeams.start();
});
afterAll(() => teams.close());

const card = (body: unknown[]) => ({ type: 'AdaptiveCard', version: '1.5', body });
const message = (content: unknown) => ({
  type: 'message',
  attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
});
const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('fake Teams Workflows webhook', () => {
  it('accepts a card with 202 and an empty body, and posts it', async () => {
    const res = await post(teams.webhookUrl, message(card([{ type: 'TextBlock', text: 'hello' }])));
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    expect(teams.cards.at(-1)).toMatchObject({ body: [{ text: 'hello' }] });
  });

  it('answers 401 for a wrong signature, 404 for another workflow, 400 for a body that is not JSON', async () => {
    const wrongSig = teams.webhookUrl.replace(/sig=[^&]+/, 'sig=guessed');
    const res = await post(wrongSig, message(card([])));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'DirectApiAuthorizationRequired',
    );
    expect((await post(teams.webhookUrl.replace('/workflows/', '/workflows/0'), {})).status).toBe(404);
    expect((await post(teams.webhookUrl, '{not json')).status).toBe(400);
  });

  it('answers 413 over 28 KB', async () => {
    const big = message(card([{ type: 'TextBlock', text: 'x'.repeat(TEAMS_MAX_BYTES) }]));
    expect((await post(teams.webhookUrl, big)).status).toBe(413);
  });

  it("records a failed run for what the flow cannot post: no card, or a card Microsoft's library rejects", async () => {
    const before = teams.failedRuns.length;
    expect((await post(teams.webhookUrl, { text: 'a connector MessageCard' })).status).toBe(202);
    expect((await post(teams.webhookUrl, message(card([{ type: 'Action.OpenUrl' }])))).status).toBe(202);
    expect(teams.failedRuns.slice(before).map((r) => r.reason)).toEqual([
      'no Adaptive Card attachment in a "message"',
      expect.stringContaining('parse: '),
    ]);
    expect(
      validateCard({
        type: 'AdaptiveCard',
        version: '1.5',
        actions: [{ type: 'Action.OpenUrl', title: 'x' }],
      }),
    ).toEqual(['validate: Property "url" must be set.']);
  });
});
