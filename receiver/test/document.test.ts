// One document model, every target: a remediation annotation's link whose words are not its URL shows
// the URL's real host in every rendering, and ~~strike~~ is struck in each target's own syntax.
import { describe, expect, it } from 'vitest';
import { fromMarkdown, toAdf, toMarkdown, toPlainText, toWiki } from '../src/channels/doc.js';
import { renderEmail, toHtml } from '../src/channels/email/render.js';
import { renderTeamsMessage, toCardElements } from '../src/channels/msteams/render.js';
import { toMrkdwn } from '../src/channels/slack/mrkdwn.js';
import { renderSlackMessage } from '../src/channels/slack/render.js';
import { plannedEvent } from './fixtures/events.js';
import { fixture } from './fixtures/payloads.js';

const DISGUISED = 'Renew at [totally safe](https://evil.example/renew) ~~today~~.';

describe('links and strike through every target', () => {
  const doc = fromMarkdown(DISGUISED);

  it.each([
    ['Slack mrkdwn', toMrkdwn(doc), '<https://evil.example/renew|totally safe (evil.example)>', '~today~'],
    [
      'email HTML',
      toHtml(doc),
      '<a href="https://evil.example/renew">totally safe (evil.example)</a>',
      '<del>today</del>',
    ],
    ['Jira wiki', toWiki(doc), '[totally safe (evil.example)|https://evil.example/renew]', '-today-'],
    [
      'GitHub Markdown',
      toMarkdown(doc),
      '[totally safe (evil.example)](https://evil.example/renew)',
      '~~today~~',
    ],
    [
      'Jira ADF',
      JSON.stringify(toAdf(doc)),
      '{"type":"text","text":"totally safe (evil.example)","marks":[{"type":"link","attrs":{"href":"https://evil.example/renew"}}]}',
      '{"type":"text","text":"today","marks":[{"type":"strike"}]}',
    ],
    [
      'Teams card',
      JSON.stringify(toCardElements(doc)),
      '"text":"totally safe (evil.example)","selectAction":{"type":"Action.OpenUrl","url":"https://evil.example/renew"}',
      '"text":"today","strikethrough":true',
    ],
    ['plain text', toPlainText(doc), 'totally safe (https://evil.example/renew)', 'today'],
  ])('%s', (_target, output, link, strike) => {
    expect(output).toContain(link);
    expect(output).toContain(strike);
  });

  it('shows no host when the words are the URL or its host, and keeps only http(s) and mailto links', () => {
    expect(toMrkdwn(fromMarkdown('<https://x.example/a> [x.example](https://x.example/b)'))).toBe(
      '<https://x.example/a|https://x.example/a> <https://x.example/b|x.example>',
    );
    expect(toMrkdwn(fromMarkdown('[mail us](mailto:ops@example.com)'))).toBe(
      '<mailto:ops@example.com|mail us (ops@example.com)>',
    );
    expect(toHtml(fromMarkdown('[run](javascript:alert(1))'))).toBe('<p style="margin:0 0 8px">run</p>');
  });

  it('holds for an alert annotation through the whole Slack, email and Teams renderings', () => {
    const body = fixture('firing');
    body.commonAnnotations = { ...(body.commonAnnotations as object), remediation: DISGUISED };
    const event = plannedEvent(body, { now: Date.parse('2026-11-28T12:00:00Z') });
    const mail = renderEmail(event, undefined, {
      from: 'a@example.com',
      to: ['b@example.com'],
      cc: [],
      maxAlerts: 10,
      maxValue: 1000,
    });
    const slack = JSON.stringify(renderSlackMessage(event, { maxAlerts: 10, mentions: {} }));
    const teams = JSON.stringify(renderTeamsMessage(event, { maxAlerts: 10 }));
    for (const out of [slack, mail.html, teams]) {
      expect(out).toContain('totally safe (evil.example)');
      expect(out).not.toMatch(/totally safe[^(]{0,20}(\||<\/a>|"selectAction")/);
    }
    expect(mail.text).toContain('totally safe (https://evil.example/renew)');
  });
});
