// Text helpers shared by the channels: truncation that stays visible and never splits a character,
// status words, alert lines, and the plain-text rendering used by email and the console channel.
//
// A resolved group reads as resolved in every channel: when and after how long (resolvedLine), the
// licence values now when Prometheus told them (factPairs), the firing text only as past context
// ("Was: …", alertText), and no remediation and no call to action (no runbook or silence link).

import type { AlertView, GroupView, LicenceFacts } from '../notification.js';
import { humanDuration, humanTime } from '../units.js';
import type { DeliveryEvent } from './channel.js';
import { type Block, fromMarkdown, toPlainText } from './doc.js';

export const TRUNCATED = '… (truncated)';

/**
 * At most `max` UTF-16 units (what Slack and most limits count), cut at a character boundary and
 * ending with `marker` when something was cut. An HTML/mrkdwn entity (`&amp;`) is not cut in half, and
 * an unclosed ``` fence is closed.
 */
export function truncate(text: string, max: number, marker = TRUNCATED): string {
  if (text.length <= max) return text;
  let room = Math.max(0, max - marker.length);
  let cut = text.slice(0, room);
  for (;;) {
    // Do not end on half a surrogate pair or inside an entity.
    if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
    cut = cut.replace(/&[#a-zA-Z0-9]{0,8}$/, '');
    const fences = cut.match(/```/g)?.length ?? 0;
    const closing = fences % 2 === 1 ? '\n```' : '';
    if (cut.length + closing.length + marker.length <= max) return `${cut}${closing}${marker}`;
    room -= closing.length;
    cut = cut.slice(0, Math.max(0, room));
  }
}

export function statusWord(group: GroupView): string {
  return group.status === 'firing' ? `FIRING:${group.firing.length}` : 'RESOLVED';
}

/** `[FIRING:2] CalicoLicenseExpiringSoon cluster=prod`. */
export function headline(group: GroupView): string {
  return `[${statusWord(group)}] ${group.title}`;
}

export function labelsInline(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(' ');
}

/** What tells an alert from its siblings: its distinct labels, else its name. */
export function alertName(alert: AlertView): string {
  const distinct = labelsInline(alert.distinct);
  return distinct || alert.labels.alertname || alert.fingerprint;
}

/** What an alert says; for a resolved one, as past context (`was: …`). */
export function alertText(alert: AlertView): string | undefined {
  const text = alert.annotations.summary ?? alert.annotations.description;
  return text !== undefined && alert.status === 'resolved' ? `was: ${text}` : text;
}

/** `Resolved at 2026-11-28 10:30 UTC after firing for 2h 30m.` */
export function resolvedLine(group: GroupView, now: number): string {
  const at = group.resolvedAt ?? now;
  return `Resolved at ${humanTime(at)} after firing for ${humanDuration(at - group.startedAt)}.`;
}

/** The licence values now of a resolved group, as lines (`Expires now: …`); none when not known. */
export function currentLines(group: GroupView): string[] {
  return group.status === 'resolved' && group.current
    ? licenceFacts(group.current, ' now').map(([k, v]) => `${k}: ${v}`)
    : [];
}

/** The firing summary (else description) of a resolved group, as past context. */
export function pastContext(group: GroupView): string | undefined {
  const text = group.summary ?? group.description;
  return text === undefined ? undefined : `Was: ${text}`;
}

export function since(alert: AlertView, now: number): string {
  if (alert.status === 'resolved' && alert.endsAt !== undefined)
    return `resolved ${humanTime(alert.endsAt)}, fired ${humanDuration(alert.endsAt - alert.startsAt)}`;
  return `since ${humanTime(alert.startsAt)} (${humanDuration(now - alert.startsAt)})`;
}

/**
 * A fact of a group; `at` when the value is a time (so that Slack can show it in the reader's zone),
 * with `rest`, what follows the time and stays true (`(12 days left)`).
 */
export type Fact = [label: string, value: string, at?: number, rest?: string];

/** The one-line facts of a group: severity, start, licence values. */
export function factPairs(group: GroupView, now: number): Fact[] {
  const pairs: Fact[] = [];
  if (group.severity) pairs.push(['Severity', group.severity]);
  if (group.cluster) pairs.push(['Cluster', group.cluster]);
  pairs.push([
    'Started',
    `${humanTime(group.startedAt)} (${humanDuration(now - group.startedAt)} ago)`,
    group.startedAt,
  ]);
  if (group.status === 'resolved' && group.resolvedAt !== undefined) {
    pairs.push(['Resolved', humanTime(group.resolvedAt), group.resolvedAt]);
    pairs.push(['Fired for', humanDuration(group.resolvedAt - group.startedAt)]);
  }
  // The facts are of when the alert fired: a resolved message states only values known to be current.
  if (group.status === 'firing') pairs.push(...licenceFacts(group.facts));
  else if (group.current) pairs.push(...licenceFacts(group.current, ' now'));
  return pairs;
}

/** A fact's value; '' (the rule could not read it) is said so. */
const known = (value: string) => (value === '' ? 'unknown' : value);

/** An RFC 3339 fact as a time for people (with `at`), or as written when it is not one. */
function timeFact(label: string, value: string, suffix = ''): Fact {
  const at = Date.parse(value);
  return Number.isNaN(at) || !/^\d{4}-\d\d-\d\dT/.test(value)
    ? [label, `${known(value)}${suffix}`]
    : [label, `${humanTime(at)}${suffix}`, at, suffix];
}

/** The facts of the rules' annotation contract, as the message's fields (`suffix`: ` now`). */
export function licenceFacts(facts: LicenceFacts, suffix = ''): Fact[] {
  const pairs: Fact[] = [];
  const days = facts.daysLeft;
  const daysText = days === undefined || days === '' ? '' : ` (${days} day${days === '1' ? '' : 's'} left)`;
  if (facts.expiresAt !== undefined) pairs.push(timeFact(`Expires${suffix}`, facts.expiresAt, daysText));
  else if (days !== undefined) pairs.push([`Days left${suffix}`, known(days)]);
  if (facts.gracePeriodEndsAt !== undefined)
    pairs.push(timeFact(`Grace period ends${suffix}`, facts.gracePeriodEndsAt));
  const usage = (label: string, used?: string, licensed?: string, forecast?: string) => {
    if (used !== undefined || licensed !== undefined)
      pairs.push([`${label}${suffix}`, `${known(used ?? '')} used of ${known(licensed ?? '')} licensed`]);
    if (forecast !== undefined)
      pairs.push([`${label} forecast`, `${known(forecast)} at the peak of the forecast`]);
  };
  usage('Nodes', facts.nodesUsed, facts.nodesLicensed, facts.nodesForecast);
  usage('CPU cores', facts.coresUsed, facts.coresLicensed, facts.coresForecast);
  return pairs;
}

/** The first line of a follow-up: what changed since the destination's last message. */
export function changeLine(event: DeliveryEvent): string {
  const { group, kind, now } = event;
  switch (kind) {
    case 'new':
      return headline(group);
    case 'resolve':
      return resolvedLine(group, now);
    case 'reminder':
      return `Still firing: ${group.firing.length} alert${group.firing.length === 1 ? '' : 's'} since ${humanTime(group.startedAt)} (${humanDuration(now - group.startedAt)}).`;
    case 'update': {
      const parts: string[] = [];
      if (event.newlyFiring.length > 0)
        parts.push(
          `${event.newlyFiring.length} new alert${event.newlyFiring.length === 1 ? '' : 's'} firing`,
        );
      if (event.newlyResolved.length > 0) parts.push(`${event.newlyResolved.length} resolved`);
      parts.push(`${group.firing.length} firing now`);
      return `Update: ${parts.join(', ')}.`;
    }
  }
}

export interface TextOptions {
  maxAlerts: number;
  /** Cap for each value (title, description, label, remediation), so that one huge value stays readable. */
  maxValue: number;
}

/** The whole notification as plain text (email text part, console channel). */
export function plainText(event: DeliveryEvent, options: TextOptions): string {
  const { group, now } = event;
  const resolved = group.status === 'resolved';
  const lines: string[] = [];
  const cap = (text: string) => truncate(text, options.maxValue);
  if (event.kind !== 'new' && !resolved) lines.push(changeLine(event), '');
  lines.push(cap(headline(group)));
  if (resolved) {
    lines.push(resolvedLine(group, now));
    const was = pastContext(group);
    if (was) lines.push(cap(was));
  } else {
    if (group.summary) lines.push(cap(group.summary));
    if (group.description && group.description !== group.summary) lines.push(cap(group.description));
  }
  lines.push('');
  for (const [k, v] of factPairs(group, now)) lines.push(`${k}: ${cap(v)}`);
  lines.push(`Labels: ${truncate(labelsInline(group.commonLabels), 2000)}`);
  lines.push('');
  lines.push(`Alerts (${group.firing.length} firing, ${group.resolved.length} resolved):`);
  const all = [...group.firing, ...group.resolved];
  for (const alert of all.slice(0, options.maxAlerts)) {
    lines.push(`- [${alert.status}] ${cap(alertName(alert))} — ${since(alert, now)}`);
    const text = alertText(alert);
    if (text && all.length > 1) lines.push(`  ${truncate(text, 500)}`);
  }
  if (all.length > options.maxAlerts)
    lines.push(`- … and ${all.length - options.maxAlerts} more (${all.length} in total)`);
  if (group.truncatedAlerts > 0)
    lines.push(
      `- ${group.truncatedAlerts} more alert${group.truncatedAlerts === 1 ? '' : 's'} left out by Alertmanager (max_alerts)`,
    );
  if (!resolved) {
    lines.push('');
    lines.push(`What to do${remediationOrigin(group)}:`);
    lines.push(toPlainText(remediationDoc(group, options.maxValue)));
  }
  const links = linkList(group);
  if (links.length > 0) {
    lines.push('', 'Links:');
    for (const [label, url] of links) lines.push(`${label}: ${url}`);
  }
  lines.push('', `-- license-receiver · group ${cap(group.identity)}`);
  return lines.join('\n');
}

/**
 * The remediation as a document, its text first cut to `maxValue` (visibly). A runbook is Markdown; an
 * annotation is written line by line, and its lines are kept.
 */
export function remediationDoc(group: GroupView, maxValue = Number.POSITIVE_INFINITY): Block[] {
  const text = truncate(group.remediation.text, maxValue, `\n\n${TRUNCATED}`);
  return fromMarkdown(text, { breaks: group.remediation.source !== 'runbook' });
}

export function remediationOrigin(group: GroupView): string {
  if (group.remediation.source === 'runbook') return ` (from the runbook ${group.remediation.runbookFile})`;
  if (group.remediation.source === 'annotation') return '';
  return ' (no runbook found)';
}

/** Runbook, graph and silence links; a resolved group only the graph (nothing left to do). */
export function linkList(group: GroupView): [string, string][] {
  const links: [string, string][] = [];
  const firing = group.status === 'firing';
  if (group.links.runbook && firing) links.push(['Runbook', group.links.runbook]);
  if (group.links.graph) links.push(['Graph', group.links.graph]);
  if (group.links.silence && firing) links.push(['Silence', group.links.silence]);
  return links;
}
