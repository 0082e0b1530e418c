// Idempotency keys. A group is identified by what stays the same while it lives — the Alertmanager
// receiver and its sorted group labels (or a template over them) — not by groupKey, which changes when
// the route tree is edited and is not unique. Its content is the set of (alert fingerprint, status,
// startsAt): two Alertmanagers of an HA pair, or a retry, send the same content.
import { createHash } from 'node:crypto';
import type { AlertmanagerAlert, AlertmanagerPayload } from '../alertmanager.js';

export interface GroupIdentity {
  /** 32 hex characters: the key of every per-group record. */
  id: string;
  /** What the id was computed from, for logs: `receiver{alertname="X",cluster="prod"}` (cut at 1,000). */
  text: string;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

export function labelsText(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}

/**
 * The stable identity of an alert group. With a template, `{{receiver}}`, `{{groupLabels.NAME}}`,
 * `{{commonLabels.NAME}}` and `{{groupKey}}` are replaced; anything else is kept as written.
 */
export function groupIdentity(
  payload: AlertmanagerPayload,
  receiver: string,
  template?: string,
): GroupIdentity {
  const text = template
    ? renderIdentityTemplate(template, payload, receiver)
    : `${receiver}${labelsText(payload.groupLabels)}`;
  // The id covers it all; logs and messages get at most 1,000 characters of it.
  const shown = text.length > 1000 ? `${text.slice(0, 999)}…` : text;
  return { id: sha(`group\n${text}`).slice(0, 32), text: shown };
}

export function renderIdentityTemplate(
  template: string,
  payload: AlertmanagerPayload,
  receiver: string,
): string {
  return template.replace(
    /\{\{\s*([A-Za-z]+)(?:\.([^\s}]+))?\s*\}\}/g,
    (whole, scope: string, name?: string) => {
      if (scope === 'receiver' && !name) return receiver;
      if (scope === 'groupKey' && !name) return payload.groupKey ?? '';
      if (scope === 'groupLabels' && name) return payload.groupLabels[name] ?? '';
      if (scope === 'commonLabels' && name) return payload.commonLabels[name] ?? '';
      return whole;
    },
  );
}

/** Placeholders an identity template may use, for config checks. */
export const IDENTITY_PLACEHOLDER =
  /\{\{\s*(receiver|groupKey|groupLabels\.[^\s}]+|commonLabels\.[^\s}]+)\s*\}\}/;

/** Alertmanager's fingerprint, or a hash of the labels when the sender gave none. */
export function alertFingerprint(alert: AlertmanagerAlert): string {
  return alert.fingerprint || sha(`labels\n${labelsText(alert.labels)}`).slice(0, 16);
}

/** One alert at one start: `fingerprint|startsAt ms`. A resolve ends it; a later firing has a new start. */
export function alertKey(alert: AlertmanagerAlert): string {
  return `${alertFingerprint(alert)}|${Date.parse(alert.startsAt)}`;
}

/** What makes two notifications of a group the same: alerts by fingerprint, status and start. */
export function contentKey(payload: AlertmanagerPayload): string {
  // Unchanged since the first version: stores keep these keys across upgrades.
  const parts = payload.alerts
    .map((a) => `${alertFingerprint(a)}|${a.status}|${Date.parse(a.startsAt)}`)
    .sort();
  return sha(`content\n${payload.truncatedAlerts ?? 0}\n${parts.join('\n')}`).slice(0, 32);
}

/** The notification's alerts by status, as alert keys: what intake compares with the group's last state. */
export function alertKeys(payload: AlertmanagerPayload): { firing: string[]; resolved: string[] } {
  const keys = { firing: [] as string[], resolved: [] as string[] };
  for (const alert of payload.alerts)
    (alert.status === 'resolved' ? keys.resolved : keys.firing).push(alertKey(alert));
  return keys;
}

/**
 * queued: a new row to deliver; reminder: a row that repeats content already sent; duplicate: the same
 * content again within the dedupe window (dropped); stale: a late retry of an older state (dropped).
 */
export type IntakeOutcome = 'queued' | 'reminder' | 'duplicate' | 'stale';

/** Whether the notification became a row to deliver. */
export const isQueued = (outcome: IntakeOutcome): boolean => outcome === 'queued' || outcome === 'reminder';

export interface IntakeState {
  contentKey: string;
  acceptedAt: number;
  /** Alert keys the accepted notification showed resolved. */
  resolved?: readonly string[];
}

export interface IncomingContent {
  contentKey: string;
  /** Alert keys the notification shows firing. */
  firing?: readonly string[];
}

/**
 * What to do with a notification for one destination, given the last one accepted for its group:
 * - the same content within the dedupe window is a duplicate (HA pair, retry); the same content later
 *   is a repeat (Alertmanager's repeat_interval) and becomes a reminder;
 * - within the window, content that shows firing an alert the last one showed resolved (same alert,
 *   same start) is stale: a retry Alertmanager kept sending to a replica that was down, arriving after
 *   the group's resolve went through another. Prometheus gives an alert that fires again a new start,
 *   so only an older state looks like this (or Alertmanager timing an alert out while Prometheus could
 *   not reach it and Prometheus resending it right after: that state waits for the next repeat);
 * - anything else is queued.
 */
export function decideIntake(
  previous: IntakeState | undefined,
  incoming: IncomingContent,
  now: number,
  dedupeWindowMs: number,
): IntakeOutcome {
  if (!previous) return 'queued';
  const recent = now - previous.acceptedAt < dedupeWindowMs;
  if (previous.contentKey === incoming.contentKey) return recent ? 'duplicate' : 'reminder';
  const resolved = new Set(previous.resolved);
  if (recent && incoming.firing?.some((key) => resolved.has(key))) return 'stale';
  return 'queued';
}

/** What intake decides a notification from (the store's EnqueueRequest carries more). */
export interface IntakeRequest extends IncomingContent {
  groupId: string;
  destinations: readonly string[];
  receivedAt: number;
  dedupeWindowMs: number;
  /** Alert keys the notification shows resolved. */
  resolved?: readonly string[];
}

export interface IntakeDecision {
  /** Per destination, in the request's order. */
  outcomes: { channel: string; outcome: IntakeOutcome }[];
  /** The destinations that get a row, each once. */
  queued: { channel: string; reminder: boolean }[];
}

/**
 * Decides notifications in arrival order, each against the last one accepted for its group and
 * destination: the store's (`stored`, asked once per pair) or one earlier in the same batch. Both
 * stores decide through this, so a batch means the same as its notifications one by one.
 */
export function decideInOrder(
  requests: readonly IntakeRequest[],
  stored: (groupId: string, channel: string) => IntakeState | undefined,
): IntakeDecision[] {
  const last = new Map<string, IntakeState | undefined>();
  return requests.map((request) => {
    const outcomes = new Map<string, IntakeOutcome>();
    const queued: IntakeDecision['queued'] = [];
    for (const channel of new Set(request.destinations)) {
      const key = `${request.groupId}\n${channel}`;
      if (!last.has(key)) last.set(key, stored(request.groupId, channel));
      const outcome = decideIntake(last.get(key), request, request.receivedAt, request.dedupeWindowMs);
      outcomes.set(channel, outcome);
      if (!isQueued(outcome)) continue;
      last.set(key, {
        contentKey: request.contentKey,
        acceptedAt: request.receivedAt,
        resolved: request.resolved ?? [],
      });
      queued.push({ channel, reminder: outcome === 'reminder' });
    }
    return {
      outcomes: request.destinations.map((channel) => ({
        channel,
        outcome: outcomes.get(channel) as IntakeOutcome,
      })),
      queued,
    };
  });
}
