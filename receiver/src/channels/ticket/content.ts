// What a ticket says, for every ticket system: a static summary, a description (the alerts, their
// values, what to do, links) and the comments of the lifecycle (change, reminder, resolve, reopen).
// Built once as a document; each system renders it in its own markup. Pure.
import type { AlertView, GroupView } from '../../notification.js';
import { humanTime } from '../../units.js';
import type { DeliveryEvent } from '../channel.js';
import { type Block, bullets, heading, type Inline, link, para, t } from '../doc.js';
import {
  alertName,
  alertText,
  changeLine,
  currentLines,
  factPairs,
  labelsInline,
  linkList,
  remediationDoc,
  remediationOrigin,
  resolvedLine,
  since,
  truncate,
} from '../text.js';

export interface ContentLimits {
  maxAlerts: number;
  /** Cap for each free-text value (description, remediation, one alert's text). */
  maxValue: number;
}

/** A ticket of an earlier firing of this group, named in a new ticket. */
export interface EarlierTicket {
  key: string;
  url: string;
}

/** `CalicoLicenseExpiringSoon cluster=prod: The licence expires in less than 30 days.` within `max`. */
export function ticketSummary(group: GroupView, max: number): string {
  const text = group.summary ? `${group.title}: ${group.summary}` : group.title;
  return truncate(text.replace(/\s+/g, ' ').trim(), max, '…');
}

export function ticketDescription(
  event: DeliveryEvent,
  identityLabel: string,
  limits: ContentLimits,
  earlier?: EarlierTicket,
): Block[] {
  const { group, now } = event;
  const blocks: Block[] = [];
  if (group.summary) blocks.push(para(t(truncate(group.summary, limits.maxValue), 'strong')));
  if (group.description && group.description !== group.summary)
    blocks.push(para(t(truncate(group.description, limits.maxValue))));
  if (earlier) blocks.push(para(t('This alert fired before: '), link(earlier.key, earlier.url), t('.')));
  // A ticket is read for days: times are absolute ("4h ago" would soon be wrong).
  const facts = factPairs(group, now).map(([k, v, at, rest]): [string, string] => [
    k,
    at === undefined ? v : `${humanTime(at)}${rest ?? ''}`,
  ]);
  blocks.push(bullets(facts.map(([k, v]) => [t(`${k}: `, 'strong'), t(v)])));
  blocks.push(...whatToDo(group, limits));
  blocks.push(heading(`Alerts (${group.firing.length} firing, ${group.resolved.length} resolved)`));
  blocks.push(alertList([...group.firing, ...group.resolved], now, limits, group.truncatedAlerts));
  blocks.push(...linkBlocks(group));
  blocks.push(
    para(
      t('Opened by license-monitor for alert group '),
      t(group.identity, 'code'),
      t(' (labels: '),
      t(truncate(labelsInline(group.commonLabels), 1000), 'code'),
      t('). Identity: '),
      t(identityLabel, 'code'),
      t('. Do not remove the identity: it keeps one ticket per alert group.'),
    ),
  );
  return blocks;
}

export type CommentKind = DeliveryEvent['kind'] | 'reopen' | 'adopt';

/** What a comment says, fitted to the limits: a lifecycle step's (commentOf) or a note's. */
export type CommentDoc = (limits: ContentLimits) => Block[];

/** The comment of a lifecycle step as a CommentDoc. */
export const commentOf =
  (event: DeliveryEvent, kind: CommentKind = event.kind): CommentDoc =>
  (limits) =>
    ticketComment(event, limits, kind);

/** The comment for a step of the lifecycle; `kind` overrides the event's (reopen, adopt). */
export function ticketComment(
  event: DeliveryEvent,
  limits: ContentLimits,
  kind: CommentKind = event.kind,
): Block[] {
  const { group, now } = event;
  switch (kind) {
    case 'resolve':
      // Resolved means resolved: when, after how long, the values now when known; the alerts' texts
      // only as what they were; nothing to do.
      return [
        para(t(resolvedLine(group, now), 'strong')),
        para(t('The alert stopped firing; license-monitor resolved this ticket.')),
        ...currentLines(group).map((line) => para(t(line))),
        alertList(group.resolved, now, limits, 0),
      ];
    case 'reopen':
    case 'adopt':
    case 'new':
      return [
        para(
          t(
            kind === 'reopen'
              ? `Firing again since ${humanTime(group.startedAt)}: license-monitor reopened this ticket.`
              : `Firing: ${group.firing.length} alert${group.firing.length === 1 ? '' : 's'} since ${humanTime(group.startedAt)}.`,
            'strong',
          ),
        ),
        alertList(group.firing, now, limits, group.truncatedAlerts),
        ...whatToDo(group, limits),
      ];
    case 'reminder':
      return [para(t(changeLine(event), 'strong'))];
    case 'update': {
      const blocks: Block[] = [para(t(changeLine(event), 'strong'))];
      if (event.newlyFiring.length > 0)
        blocks.push(heading('Now firing'), alertList(event.newlyFiring, now, limits, 0));
      if (event.newlyResolved.length > 0)
        blocks.push(heading('Resolved'), alertList(event.newlyResolved, now, limits, 0));
      return blocks;
    }
  }
}

function whatToDo(group: GroupView, limits: ContentLimits): Block[] {
  return [heading(`What to do${remediationOrigin(group)}`), ...remediationDoc(group, limits.maxValue)];
}

function alertList(alerts: AlertView[], now: number, limits: ContentLimits, leftOut: number): Block {
  const items: Inline[][] = alerts.slice(0, limits.maxAlerts).map((a) => {
    const line: Inline[] = [t(`[${a.status}] `, 'strong'), t(alertName(a)), t(` — ${since(a, now)}`)];
    const text = alertText(a);
    if (text) line.push({ break: true }, t(truncate(text, Math.min(500, limits.maxValue))));
    if (a.generatorURL) line.push(t(' '), link('graph', a.generatorURL));
    return line;
  });
  if (alerts.length > limits.maxAlerts)
    items.push([t(`… and ${alerts.length - limits.maxAlerts} more (${alerts.length} in total)`)]);
  if (leftOut > 0)
    items.push([t(`${leftOut} more alert${leftOut === 1 ? '' : 's'} left out by Alertmanager (max_alerts)`)]);
  if (items.length === 0) items.push([t('none')]);
  return bullets(items);
}

function linkBlocks(group: GroupView): Block[] {
  const links = linkList(group);
  if (links.length === 0) return [];
  return [heading('Links'), bullets(links.map(([label, url]) => [link(label, url)]))];
}

/**
 * Renders with the given limits, halving them until the output fits `max` (as `size` counts it):
 * a group of 500 alerts still makes a valid ticket, with a visible "… and N more".
 */
export function fitting<T>(
  limits: ContentLimits,
  max: number,
  render: (limits: ContentLimits) => T,
  size: (out: T) => number,
): T {
  let current = limits;
  for (;;) {
    const out = render(current);
    if (size(out) <= max || (current.maxAlerts <= 1 && current.maxValue <= 200)) return out;
    current = {
      maxAlerts: Math.max(1, Math.floor(current.maxAlerts / 2)),
      maxValue: Math.max(200, Math.floor(current.maxValue / 2)),
    };
  }
}
