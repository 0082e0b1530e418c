// Alert group → a Teams Workflows webhook body, pure: `{"type":"message","attachments":[…]}` holding an
// Adaptive Card 1.5. Every text from an alert or a runbook goes into a RichTextBlock's TextRun, which
// Teams shows literally (TextBlock and Fact values would read Markdown), and `<at>` never reaches a
// card whole (mentions need entities this channel never sends). Teams refuses bodies over 28 KB (413):
// the card is rendered with fewer alerts and shorter texts until it fits, and says what it left out.
// https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format
import type { AlertView, GroupView } from '../../notification.js';
import { humanDuration, humanTime } from '../../units.js';
import type { DeliveryEvent } from '../channel.js';
import { type Block, type Inline, isBreak, linkText } from '../doc.js';
import { oneLine } from '../http.js';
import {
  alertName,
  alertText,
  changeLine,
  factPairs,
  linkList,
  pastContext,
  remediationDoc,
  remediationOrigin,
  resolvedLine,
  statusWord,
  truncate,
} from '../text.js';
import { type ContentLimits, fitting } from '../ticket/content.js';

export const TEAMS_LIMITS = {
  /** What a Teams webhook takes, in bytes of the JSON body (Microsoft: about 28 KB). */
  bodyBytes: 28 * 1024,
  /** Cap for each free-text value before the card is fitted. */
  maxValue: 4000,
  /** The title, in characters. */
  title: 200,
} as const;

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export type CardElement = Record<string, unknown>;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: '1.5';
  body: CardElement[];
  actions?: CardElement[];
  msteams?: { width: 'Full' };
}

export interface TeamsMessage {
  type: 'message';
  attachments: { contentType: typeof CARD_CONTENT_TYPE; contentUrl: null; content: AdaptiveCard }[];
}

export interface TeamsRenderOptions {
  maxAlerts: number;
}

/** `<at>` starts a Teams mention: a word joiner after `<` keeps the text as it reads, and no mention. */
export function mentionSafe(text: string): string {
  return text.replace(/<(\/?)(at)\b/gi, '<$1\u2060$2');
}

/** Bytes of the body as it goes on the wire. */
export function bodyBytes(message: TeamsMessage): number {
  return Buffer.byteLength(JSON.stringify(message));
}

/** The card for an event: the group now, with what changed first when it is not new. */
export function renderTeamsMessage(event: DeliveryEvent, options: TeamsRenderOptions): TeamsMessage {
  // Every text is capped, so the smallest fitting (one alert, 200 characters a value) is a few KB.
  const limits = { maxAlerts: options.maxAlerts, maxValue: TEAMS_LIMITS.maxValue };
  return fitting(limits, TEAMS_LIMITS.bodyBytes, (l) => wrap(card(event, l)), bodyBytes);
}

function wrap(content: AdaptiveCard): TeamsMessage {
  return { type: 'message', attachments: [{ contentType: CARD_CONTENT_TYPE, contentUrl: null, content }] };
}

const EMOJI: Record<string, string> = { critical: '🔴', error: '🔴', warning: '🟠', info: '🔵' };
const STYLE: Record<string, string> = { critical: 'attention', error: 'attention', warning: 'warning' };

function card(event: DeliveryEvent, limits: ContentLimits): AdaptiveCard {
  const { group, now } = event;
  const body: CardElement[] = [titleContainer(group)];
  const resolved = group.status === 'resolved';
  if (resolved) {
    body.push(rich([run(resolvedLine(group, now), { weight: 'Bolder' })]));
    const was = pastContext(group);
    if (was) body.push(rich([run(truncate(was, limits.maxValue), { italic: true, isSubtle: true })]));
  } else {
    if (event.kind !== 'new') body.push(rich([run(changeLine(event), { weight: 'Bolder' })]));
    if (group.summary) body.push(rich([run(truncate(group.summary, limits.maxValue), { weight: 'Bolder' })]));
    if (group.description && group.description !== group.summary)
      body.push(rich([run(truncate(group.description, limits.maxValue))]));
  }
  body.push(
    ...factPairs(group, now).map(([k, v], i) =>
      rich([run(`${k}: `, { weight: 'Bolder' }), run(truncate(v, 300, '…'))], i === 0 ? 'Medium' : 'None'),
    ),
  );
  const count = group.firing.length + group.resolved.length;
  if (count > 1 || group.truncatedAlerts > 0) body.push(...alertElements(group, limits.maxAlerts, now));
  if (!resolved)
    body.push(
      heading(`What to do${remediationOrigin(group)}`),
      ...toCardElements(remediationDoc(group, limits.maxValue)),
    );
  body.push(
    rich(
      [
        run(truncate(`license-receiver · group ${group.identity}`, 500, '…'), {
          isSubtle: true,
          size: 'Small',
        }),
      ],
      'Medium',
    ),
  );
  const actions = linkList(group).map(([label, url]) => ({ type: 'Action.OpenUrl', title: label, url }));
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: 'Full' },
  };
}

/** The title with status, severity, alert name and cluster, on the severity's colour. */
function titleContainer(group: GroupView): CardElement {
  const resolved = group.status === 'resolved';
  const emoji = resolved ? '✅' : (EMOJI[group.severity ?? ''] ?? '🔔');
  const parts = [`${emoji} ${statusWord(group)}`];
  if (group.severity) parts.push(group.severity);
  parts.push(group.alertname);
  if (group.cluster) parts.push(group.cluster);
  return {
    type: 'Container',
    style: resolved ? 'good' : (STYLE[group.severity ?? ''] ?? 'accent'),
    bleed: true,
    items: [
      rich([
        run(truncate(oneLine(parts.join(' · ')), TEAMS_LIMITS.title, '…'), {
          size: 'Large',
          weight: 'Bolder',
        }),
      ]),
    ],
  };
}

function alertElements(group: GroupView, maxAlerts: number, now: number): CardElement[] {
  const all = [...group.firing, ...group.resolved];
  const out: CardElement[] = [
    heading(`Alerts (${group.firing.length} firing, ${group.resolved.length} resolved)`),
  ];
  for (const alert of all.slice(0, maxAlerts)) out.push(rich(alertRuns(alert, now), 'None'));
  if (all.length > maxAlerts)
    out.push(
      rich(
        [
          run(`… and ${all.length - maxAlerts} more (${all.length} in total; see Alertmanager)`, {
            italic: true,
          }),
        ],
        'None',
      ),
    );
  if (group.truncatedAlerts > 0)
    out.push(
      rich(
        [run(`… and ${group.truncatedAlerts} more left out by Alertmanager (max_alerts)`, { italic: true })],
        'None',
      ),
    );
  return out;
}

function alertRuns(alert: AlertView, now: number): CardElement[] {
  const text = alertText(alert);
  const when =
    alert.status === 'resolved' && alert.endsAt !== undefined
      ? `resolved ${humanTime(alert.endsAt)} after ${humanDuration(alert.endsAt - alert.startsAt)}`
      : `since ${humanTime(alert.startsAt)} (${humanDuration(now - alert.startsAt)})`;
  return [
    run(`${alert.status === 'firing' ? '🔥' : '✅'} `),
    run(truncate(alertName(alert), 200, '…'), { fontType: 'Monospace' }),
    run(truncate(`${text ? ` — ${text}` : ''} · ${when}`, 400, '…')),
  ];
}

// ---------------------------------------------------------------------------------------------------
// The document model as card elements: one RichTextBlock per line of text, TextRuns for the marks.

export function toCardElements(blocks: Block[]): CardElement[] {
  return blocks.flatMap((b) => blockElements(b, ''));
}

function blockElements(block: Block, prefix: string): CardElement[] {
  switch (block.type) {
    case 'heading':
      return [heading(block.content.map((i) => (isBreak(i) ? ' ' : linkText(i))).join(''))];
    case 'paragraph':
      return lines(block.content).map((line, n) =>
        rich([...(prefix && n === 0 ? [run(prefix)] : []), ...line.map(inlineRun)], 'Small'),
      );
    case 'list':
      return block.items.flatMap((item, n) => {
        const marker = `${prefix ? '    ' : ''}${block.ordered ? `${n + 1}.` : '•'} `;
        return item.flatMap((b, j) => blockElements(b, j === 0 ? marker : ''));
      });
    case 'code':
      return [
        {
          type: 'Container',
          style: 'emphasis',
          items: block.text.split('\n').map((l) => rich([run(l || ' ', { fontType: 'Monospace' })], 'None')),
        },
      ];
    case 'rule':
      return [rich([run('──────', { isSubtle: true })])];
  }
}

/** A paragraph's inlines split at its line breaks. */
function lines(inlines: Inline[]): Exclude<Inline, { break: true }>[][] {
  const out: Exclude<Inline, { break: true }>[][] = [[]];
  for (const i of inlines) {
    if (isBreak(i)) out.push([]);
    else (out.at(-1) as Exclude<Inline, { break: true }>[]).push(i);
  }
  return out.filter((l) => l.length > 0);
}

function inlineRun(i: Exclude<Inline, { break: true }>): CardElement {
  const marks = i.marks ?? [];
  return run(linkText(i), {
    ...(marks.includes('strong') ? { weight: 'Bolder' } : {}),
    ...(marks.includes('em') ? { italic: true } : {}),
    ...(marks.includes('strike') ? { strikethrough: true } : {}),
    ...(marks.includes('code') ? { fontType: 'Monospace' } : {}),
    ...(i.href ? { selectAction: { type: 'Action.OpenUrl', url: i.href } } : {}),
  });
}

function heading(text: string): CardElement {
  return rich([run(text, { weight: 'Bolder' })], 'Medium');
}

function rich(inlines: CardElement[], spacing?: 'None' | 'Small' | 'Medium'): CardElement {
  return { type: 'RichTextBlock', ...(spacing ? { spacing } : {}), inlines };
}

function run(text: string, style: Record<string, unknown> = {}): CardElement {
  return { type: 'TextRun', text: mentionSafe(text), ...style };
}
