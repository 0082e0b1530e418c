// Scenario 1: a licence that comes to expire in 5 days becomes CalicoLicenseExpiryCritical in
// Prometheus, one Alertmanager notification, exactly one Slack message carrying the remediation and
// one email; its renewal resolves it everywhere: the Slack message edited plus a reply in its thread,
// and an email in the same thread; one Jira issue with the remediation, transitioned to Done with a
// comment.
import { describe, expect, it } from 'vitest';
import { jiraTime } from '../../receiver/src/channels/jira/index.js';
import { plainText } from '../fakes/jira-api.js';
import { MAIL_TO, nth, settle, slackText, slackUrls, usePipeline, waitFor } from './harness.js';

const ALERT = 'CalicoLicenseExpiryCritical';

describe('e2e: licence expiring in 5 days, then renewed', () => {
  // A healthy licence first, so that the change of the file is what the pipeline reacts to.
  const pipeline = usePipeline({ expiresInDays: 300 });

  it('sends exactly one Slack message with the remediation, one email and one Jira issue', async () => {
    const { slack } = pipeline();
    expect(await pipeline().alerts()).toEqual([]);

    const changed = Date.now();
    pipeline().writeLicence(5);
    await waitFor(() => pipeline().slackRoots().length > 0, 30_000, 'a Slack message');
    const message = nth(pipeline().slackRoots(), 0);
    const latency = message.postedAt - changed;
    console.log(`e2e: licence file changed → Slack message in ${latency} ms`);
    await waitFor(() => pipeline().mails.length > 0, 10_000, 'an email');
    await settle(3000); // group_interval is 1 s: a second notification would be here by now

    expect(await pipeline().alertState(ALERT)).toBe('firing');
    expect(pipeline().slackRoots()).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);
    const text = slackText(message);
    expect(text).toContain(ALERT);
    const remediation = pipeline().annotation(ALERT, 'remediation') as string;
    expect(remediation, 'the rendered rule has a remediation').toBeTruthy();
    for (const line of remediation.trim().split('\n')) expect(text).toContain(line.trim());
    expect(slackUrls(message)).toContain(pipeline().annotation(ALERT, 'runbook_url'));

    expect(pipeline().mails).toHaveLength(1);
    const mail = nth(pipeline().mails, 0);
    expect(mail.envelope.to).toEqual([MAIL_TO]);
    expect(mail.secure, 'delivered over STARTTLS').toBe(true);
    expect(mail.parsed.subject).toContain(ALERT);
    for (const line of remediation.trim().split('\n')) expect(mail.parsed.text).toContain(line.trim());

    await waitFor(() => pipeline().jiraIssues().length > 0, 10_000, 'a Jira issue');
    const issues = pipeline().jiraIssues();
    const created = jiraTime(nth(issues, 0).fields.created) ?? Number.NaN;
    console.log(`e2e: licence file changed → Jira issue created ${created - changed} ms later`);
    expect(issues).toHaveLength(1);
    const issue = nth(issues, 0);
    expect(issue.fields.summary).toContain(ALERT);
    expect(issue.fields.labels.some((l) => /^ALERT\{[0-9a-f]{32}\}$/.test(l))).toBe(true);
    const description = plainText(issue.fields.description);
    for (const line of remediation.trim().split('\n')) expect(description).toContain(line.trim());
    expect(issue.fields.status.statusCategory.key).not.toBe('done');
  }, 60_000);

  it('resolves on renewal: the Slack message edited, a thread reply, an email in the same thread, the Jira issue done', async () => {
    const { slack } = pipeline();
    const root = nth(pipeline().slackRoots(), 0);
    const first = nth(pipeline().mails, 0);

    const renewed = Date.now();
    pipeline().writeLicence(365);
    await waitFor(() => slack.replies(root).length > 0, 30_000, 'a reply in the Slack thread');
    console.log(`e2e: licence renewed → Slack thread reply in ${Date.now() - renewed} ms`);
    await waitFor(() => pipeline().mails.length > 1, 10_000, 'the resolved email');
    await settle(3000);

    expect(await pipeline().alerts()).toEqual([]);
    expect(pipeline().slackRoots()).toHaveLength(1);
    const message = nth(pipeline().slackRoots(), 0);
    expect(message.updates).toHaveLength(1);
    expect(slackText(message)).toMatch(/resolved/i);
    const replies = slack.replies(message);
    expect(replies).toHaveLength(1);
    expect(slackText(nth(replies, 0))).toMatch(/resolved/i);

    expect(pipeline().mails).toHaveLength(2);
    const second = nth(pipeline().mails, 1);
    // The resolve says RESOLVED in its subject and stays in the thread: a reply to the first mail,
    // the same Thread-Topic.
    expect(second.parsed.inReplyTo).toBe(first.parsed.messageId);
    expect(second.parsed.subject).toBe(first.parsed.subject?.replace('[FIRING:1]', '[RESOLVED]'));
    expect(second.parsed.headers.get('thread-topic')).toBe(first.parsed.headers.get('thread-topic'));
    // Resolved means resolved: when and after how long, the firing text only as past context, nothing
    // to do.
    expect(second.parsed.text).toMatch(/\nResolved at .+ after firing for .+\.\nWas: /);
    expect(second.parsed.text).not.toContain('What to do');
    expect(second.parsed.text).not.toContain('silences/new');
    expect(slackText(message)).not.toContain('What to do');

    await waitFor(
      () => pipeline().jiraIssues()[0]?.fields.status.statusCategory.key === 'done',
      10_000,
      'the Jira issue resolved',
    );
    expect(pipeline().jiraIssues()).toHaveLength(1);
    const issue = nth(pipeline().jiraIssues(), 0);
    expect(issue.fields.resolution?.name).toBe('Done');
    const comments = pipeline().jira.comments(issue.key);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatch(/^Resolved at .+ after firing for /);
  }, 60_000);
});
