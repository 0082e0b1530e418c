// Alert group → Slack Block Kit, pure. Limits guarded here (Slack rejects the whole message otherwise):
// ≤ 50 blocks, section text ≤ 3,000 characters, header ≤ 150, ≤ 10 fields of ≤ 2,000, button text
// ≤ 75, URLs ≤ 3,000, and a total well under the ~13,000 characters where Slack answers
// msg_blocks_too_long. What is cut says so.

import type { KnownBlock } from '@slack/types';
import type { AlertView, GroupView } from '../../notification.js';
import { humanDuration, humanTime } from '../../units.js';
import type { DeliveryEvent } from '../channel.js';
import {
  alertName,
  alertText,
  changeLine,
  currentLines,
  factPairs,
  headline,
  linkList,
  pastContext,
  remediationDoc,
  remediationOrigin,
  resolvedLine,
  statusWord,
  truncate,
} from '../text.js';
import { escapeMrkdwn, toMrkdwn } from './mrkdwn.js';

export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fields: 10,
  fieldText: 2000,
  buttonText: 75,
  url: 3000,
  contextElements: 10,
  /** Our own cap for the notification text (Slack's is 40,000). */
  fallbackText: 3000,
  /** Characters of text in all blocks together; Slack fails at about 13,200 (msg_blocks_too_long). */
  totalText: 12_000,
} as const;

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export type Block =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'divider' }
  | { type: 'context'; elements: TextObject[] }
  | {
      type: 'actions';
      elements: {
        type: 'button';
        text: TextObject;
        url: string;
        action_id: string;
        style?: 'primary' | 'danger';
      }[];
    };

export interface SlackMessage {
  text: string;
  /** Ours, and those of Slack's own types (@slack/types) that the controls add. */
  blocks: (Block | KnownBlock)[];
}

export interface SlackRenderOptions {
  /** Alerts listed by name; the rest are counted. */
  maxAlerts: number;
  /** Mention per severity, written in Slack syntax in the config (`<!subteam^S0123>`); only these ping. */
  mentions: Record<string, string>;
}

const EMOJI: Record<string, string> = { critical: '🔴', error: '🔴', warning: '🟠', info: '🔵' };

const mrkdwn = (text: string): TextObject => ({ type: 'mrkdwn', text });

function header(group: GroupView): Block {
  const emoji = group.status === 'resolved' ? '✅' : (EMOJI[group.severity ?? ''] ?? '🔔');
  const parts = [`${emoji} ${statusWord(group)}`, group.alertname];
  if (group.cluster) parts.push(group.cluster);
  return {
    type: 'header',
    text: {
      type: 'plain_text',
      text: truncate(escapeMrkdwn(parts.join(' · ')), SLACK_LIMITS.headerText, '…'),
      emoji: true,
    },
  };
}

/** A time Slack shows in the reader's own zone, with a UTC fallback: `<!date^…|2026-11-28 08:00 UTC>`. */
export function slackDate(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${humanTime(ms)}>`;
}

function alertLine(alert: AlertView): string {
  const text = alertText(alert);
  const when =
    alert.status === 'resolved' && alert.endsAt !== undefined
      ? `resolved ${slackDate(alert.endsAt)} after ${humanDuration(alert.endsAt - alert.startsAt)}`
      : `since ${slackDate(alert.startsAt)}`;
  // Cut the label and text part, never the date syntax.
  const head = truncate(
    `• ${alert.status === 'firing' ? '🔥' : '✅'} \`${escapeMrkdwn(alertName(alert))}\`${text ? ` — ${escapeMrkdwn(text)}` : ''}`,
    300,
    '…',
  );
  return `${head} · ${when}`;
}

/** Sections of alert lines, each ≤ 3,000 characters. */
function alertSections(group: GroupView, maxAlerts: number, budget: number): Block[] {
  const all = [...group.firing, ...group.resolved];
  const lines = [`*Alerts* (${group.firing.length} firing, ${group.resolved.length} resolved)`];
  let used = lines[0]?.length ?? 0;
  let shown = 0;
  for (const alert of all) {
    if (shown >= maxAlerts) break;
    const line = alertLine(alert);
    if (used + line.length + 1 > budget) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  if (shown < all.length)
    lines.push(`… and ${all.length - shown} more (${all.length} in total; see Alertmanager)`);
  if (group.truncatedAlerts > 0)
    lines.push(
      `… and ${group.truncatedAlerts} more left out by Alertmanager (max_alerts): ${all.length + group.truncatedAlerts} in the group`,
    );
  const sections: Block[] = [];
  let current = '';
  for (const line of lines) {
    if (current && current.length + line.length + 1 > SLACK_LIMITS.sectionText) {
      sections.push({ type: 'section', text: mrkdwn(current) });
      current = '';
    }
    current = current ? `${current}\n${line}` : truncate(line, SLACK_LIMITS.sectionText);
  }
  if (current) sections.push({ type: 'section', text: mrkdwn(current) });
  return sections;
}

/** The group's message: posted for a new group, then edited in place as it changes and resolves. */
export function renderSlackMessage(event: DeliveryEvent, options: SlackRenderOptions): SlackMessage {
  const { group, now } = event;
  const blocks: Block[] = [header(group)];

  const resolved = group.status === 'resolved';
  const intro: string[] = [];
  const mention = resolved ? undefined : options.mentions[group.severity ?? ''];
  if (mention) intro.push(mention); // from config, deliberately not escaped
  if (resolved) {
    intro.push(`*${escapeMrkdwn(resolvedLine(group, now))}*`);
    const was = pastContext(group);
    if (was) intro.push(`_${escapeMrkdwn(was)}_`);
  } else {
    if (group.summary) intro.push(`*${escapeMrkdwn(group.summary)}*`);
    if (group.description && group.description !== group.summary) intro.push(escapeMrkdwn(group.description));
  }
  if (intro.length === 0) intro.push(`*${escapeMrkdwn(group.title)}*`);
  const fields = factPairs(group, now)
    .slice(0, SLACK_LIMITS.fields)
    .map(([k, v, at, rest]) =>
      mrkdwn(
        at !== undefined
          ? `*${k}*\n${slackDate(at)}${escapeMrkdwn(rest ?? '')}`
          : truncate(`*${k}*\n${escapeMrkdwn(v)}`, 300, '…'),
      ),
    );
  blocks.push({ type: 'section', text: mrkdwn(truncate(intro.join('\n'), 2000)), fields });

  const count = group.firing.length + group.resolved.length;
  if (count > 1 || group.truncatedAlerts > 0) blocks.push(...alertSections(group, options.maxAlerts, 2800));

  if (!resolved) {
    blocks.push({ type: 'divider' });
    const remediationTitle = `*What to do*${escapeMrkdwn(remediationOrigin(group))}\n`;
    blocks.push({
      type: 'section',
      text: mrkdwn(
        remediationTitle +
          truncate(
            toMrkdwn(remediationDoc(group)),
            SLACK_LIMITS.sectionText - remediationTitle.length,
            group.links.runbook ? '… (truncated: the whole text is in the runbook)' : '… (truncated)',
          ),
      ),
    });
  }

  const buttons = linkList(group)
    .filter(([, url]) => url.length <= SLACK_LIMITS.url)
    .map(([label, url]) => ({
      type: 'button' as const,
      text: { type: 'plain_text' as const, text: label, emoji: false },
      url,
      action_id: `link-${label.toLowerCase()}`,
    }));
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });

  const labels = Object.keys(group.commonLabels)
    .sort()
    .map((k) => `${k}=${group.commonLabels[k]}`)
    .join(' ');
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(truncate(`Labels: \`${escapeMrkdwn(labels || '(none in common)')}\``, 1000, '…`')),
      mrkdwn(truncate(`license-receiver · group \`${escapeMrkdwn(group.identity)}\``, 500, '…`')),
    ],
  });

  return { text: fallbackText(group, now), blocks: withinLimits(blocks) };
}

/** The notification text (shown in push notifications and where blocks cannot be). */
export function fallbackText(group: GroupView, now: number): string {
  const after =
    group.status === 'resolved' ? ` ${resolvedLine(group, now)}` : group.summary ? `: ${group.summary}` : '';
  return truncate(escapeMrkdwn(`${headline(group)}${after}`), SLACK_LIMITS.fallbackText, '…');
}

/** A thread reply: what changed (alerts joined or resolved), the resolve, or a reminder. */
export function renderSlackReply(event: DeliveryEvent, options: SlackRenderOptions): SlackMessage {
  const lines = [escapeMrkdwn(changeLine(event))];
  if (event.kind === 'resolve') lines.push(...currentLines(event.group).map(escapeMrkdwn));
  if (event.kind === 'update') {
    const list = (title: string, alerts: AlertView[]) => {
      if (alerts.length === 0) return;
      lines.push(`*${title}*`);
      for (const a of alerts.slice(0, options.maxAlerts)) lines.push(alertLine(a));
      if (alerts.length > options.maxAlerts) lines.push(`… and ${alerts.length - options.maxAlerts} more`);
    };
    list('New', event.newlyFiring);
    list('Resolved', event.newlyResolved);
  }
  const text = truncate(lines.join('\n'), SLACK_LIMITS.sectionText);
  return {
    text: truncate(text, SLACK_LIMITS.fallbackText),
    blocks: [{ type: 'section', text: mrkdwn(text) }],
  };
}

/** Never more blocks than Slack takes (the budgets above keep the text well below its limits). */
function withinLimits(blocks: Block[]): Block[] {
  return blocks.length <= SLACK_LIMITS.blocks
    ? blocks
    : [...blocks.slice(0, SLACK_LIMITS.blocks - 1), blocks.at(-1) as Block];
}
