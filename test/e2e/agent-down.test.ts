// Scenario 3: the agent stops → CalicoLicenseAgentDown, whose message quotes the runbook's
// Mitigation section (the e2e render removes the alert's remediation annotation, so the receiver
// falls back to rules/runbooks/CalicoLicenseAgentDown.md); the agent back → resolved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUNBOOKS_DIR } from '../../scripts/lib/pipeline.mjs';
import { nth, settle, slackText, usePipeline, waitFor } from './harness.js';

const ALERT = 'CalicoLicenseAgentDown';

/** The runbook's Mitigation steps, as plain sentences (list markers and code fences dropped). */
function mitigationSteps(): string[] {
  const runbook = readFileSync(join(RUNBOOKS_DIR, `${ALERT}.md`), 'utf8');
  const section = runbook.split(/^## Mitigation\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  return section
    .split('\n')
    .map((line) => /^\d+\.\s+(.*)$/.exec(line.trim())?.[1])
    .filter((step): step is string => step !== undefined);
}

describe('e2e: the agent stops', () => {
  const pipeline = usePipeline({ expiresInDays: 300 });

  it('fires AgentDown with the runbook Mitigation, and resolves when the agent is back', async () => {
    expect(pipeline().annotation(ALERT, 'remediation')).toBeUndefined();
    await pipeline().stopAgent();
    await waitFor(() => pipeline().slackRoots().length > 0, 30_000, 'a Slack message');
    await waitFor(() => pipeline().mails.length > 0, 10_000, 'an email');
    const message = nth(pipeline().slackRoots(), 0);
    const text = slackText(message);
    expect(text).toContain(ALERT);
    const steps = mitigationSteps();
    expect(steps.length).toBeGreaterThan(0);
    // Markdown `code` stays code in Slack's mrkdwn; compare the words.
    const words = (s: string) => s.replace(/[`*_]/g, '');
    for (const step of steps) expect(words(text)).toContain(words(step));
    expect(nth(pipeline().mails, 0).parsed.text).toContain(words(nth(steps, 0)).slice(0, 40));

    await pipeline().startAgent();
    await waitFor(() => pipeline().slack.replies(message).length > 0, 30_000, 'the resolve in the thread');
    await settle(2000);
    expect(pipeline().slackRoots()).toHaveLength(1);
    expect(message.updates).toHaveLength(1);
    expect(slackText(message)).toMatch(/resolved/i);
    expect(await pipeline().alerts()).toEqual([]);
  }, 60_000);
});
