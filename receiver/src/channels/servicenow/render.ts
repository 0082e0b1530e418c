// The ServiceNow Table API requests of the ticket lifecycle, built without I/O: the incident query by
// correlation id, the incident to create, and the PATCH bodies of comment, resolve and reopen. Texts
// come from the shared ticket content, as plain text (incident fields and work notes show no markup),
// fitted within the incident's column lengths. Pure.
import { ChannelError, type DeliveryEvent } from '../channel.js';
import { toPlainText } from '../doc.js';
import { truncate } from '../text.js';
import { bySeverity } from '../ticket/config.js';
import {
  type CommentDoc,
  type ContentLimits,
  commentOf,
  type EarlierTicket,
  fitting,
  ticketDescription,
  ticketSummary,
} from '../ticket/content.js';
import type { ServiceNowChannelSettings } from './config.js';

export const INCIDENT_PATH = '/api/now/table/incident';

/** Column lengths of a default instance: longer values would be cut by ServiceNow. */
export const MAX = {
  shortDescription: 160,
  description: 4000,
  correlationId: 100,
  /** close_notes, and what we write to work_notes (the journal input's length). */
  notes: 4000,
} as const;

/** Written to correlation_display: names who opened the incident. */
export const CORRELATION_DISPLAY = 'license-monitor';

/** What the adapter reads of an incident. */
export const FIELDS = ['sys_id', 'number', 'state', 'resolved_at', 'closed_at', 'close_code'] as const;

/** Incident states of the default instance. */
export const STATE = { resolved: '6', closed: '7', canceled: '8' } as const;

/** Free-text values start at this size; `fitting` halves them when the field is too small. */
const MAX_VALUE = 4000;

/** Reference fields as plain sys_id strings, and only the fields the adapter reads. */
function readParams(): URLSearchParams {
  return new URLSearchParams({ sysparm_fields: FIELDS.join(','), sysparm_exclude_reference_link: 'true' });
}

/** GET of the newest incident with this correlation id. */
export function findPath(identity: string): string {
  const params = new URLSearchParams({
    sysparm_query: `correlation_id=${identity}^ORDERBYDESCsys_created_on`,
    sysparm_limit: '1',
  });
  for (const [k, v] of readParams()) params.set(k, v);
  return `${INCIDENT_PATH}?${params}`;
}

/** POST of a new incident, answering only the fields the adapter reads. */
export function createPath(): string {
  return `${INCIDENT_PATH}?${readParams()}`;
}

/** GET of one incident, or the path a PATCH addresses (without the query). */
export function incidentPath(sysId: string, query = true): string {
  const path = `${INCIDENT_PATH}/${encodeURIComponent(sysId)}`;
  return query ? `${path}?${readParams()}` : path;
}

/** Where people open the incident in the UI. */
export function incidentUrl(instance: string, sysId: string): string {
  return `${instance}/nav_to.do?uri=incident.do?sys_id=${sysId}`;
}

/**
 * The correlation id must fit its column and hold no `^` or `=`: either would break the encoded
 * query that finds the incident again (the identity label has neither).
 */
export function checkIdentity(identity: string): string {
  if (identity.length > MAX.correlationId || /[\^=]/.test(identity))
    throw new ChannelError(
      `identity ${JSON.stringify(identity)} cannot be a ServiceNow correlation_id`,
      false,
    );
  return identity;
}

function limits(settings: ServiceNowChannelSettings): ContentLimits {
  return { maxAlerts: settings.maxAlerts, maxValue: MAX_VALUE };
}

/** Plain text of a document, shrunk until it fits `max` characters (and cut as a last resort). */
function plainWithin(
  settings: ServiceNowChannelSettings,
  max: number,
  render: (l: ContentLimits) => Parameters<typeof toPlainText>[0],
): string {
  const text = fitting(
    limits(settings),
    max,
    (l) => toPlainText(render(l)),
    (s) => s.length,
  );
  return truncate(text, max);
}

export function createBody(
  settings: ServiceNowChannelSettings,
  event: DeliveryEvent,
  identity: string,
  earlier?: EarlierTicket,
): Record<string, string> {
  const { group } = event;
  return {
    short_description: ticketSummary(group, MAX.shortDescription),
    description: plainWithin(settings, MAX.description, (l) =>
      ticketDescription(event, identity, l, earlier),
    ),
    urgency: bySeverity(settings.urgency, group.severity) ?? '2',
    impact: bySeverity(settings.impact, group.severity) ?? '2',
    // Configured fields cannot replace the identity: it is how the incident is found again.
    ...settings.fields,
    correlation_id: checkIdentity(identity),
    correlation_display: CORRELATION_DISPLAY,
  };
}

/** The comment of a lifecycle step as work-note text. */
export function noteText(settings: ServiceNowChannelSettings, doc: CommentDoc): string {
  return plainWithin(settings, MAX.notes, doc);
}

export function commentBody(settings: ServiceNowChannelSettings, doc: CommentDoc): Record<string, string> {
  return { work_notes: noteText(settings, doc) };
}

/**
 * Resolves with the configured state and close code; the close notes are the configured text before
 * the resolve comment (how long it fired), which is also the work note.
 */
export function resolveBody(
  settings: ServiceNowChannelSettings,
  event: DeliveryEvent,
): Record<string, string> {
  const text = noteText(settings, commentOf(event, 'resolve'));
  return {
    state: settings.resolveState,
    close_code: settings.closeCode,
    close_notes: settings.closeNotes ? `${settings.closeNotes}\n\n${text}` : text,
    work_notes: text,
  };
}

export function reopenBody(
  settings: ServiceNowChannelSettings,
  event: DeliveryEvent,
): Record<string, string> {
  return { state: settings.reopenState, work_notes: noteText(settings, commentOf(event, 'reopen')) };
}
