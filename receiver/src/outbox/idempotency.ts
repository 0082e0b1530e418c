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

/** What makes two notifications of a group the same: alerts by fingerprint, status and start. */
export function contentKey(payload: AlertmanagerPayload): string {
  const parts = payload.alerts
    .map((a) => `${alertFingerprint(a)}|${a.status}|${Date.parse(a.startsAt)}`)
    .sort();
  return sha(`content\n${payload.truncatedAlerts ?? 0}\n${parts.join('\n')}`).slice(0, 32);
}

export type IntakeOutcome = 'queued' | 'reminder' | 'duplicate';

export interface IntakeState {
  contentKey: string;
  acceptedAt: number;
}

/**
 * What to do with a notification for one destination, given the last one accepted for its group:
 * the same content within the dedupe window is a duplicate (HA pair, retry); the same content later is
 * a repeat (Alertmanager's repeat_interval) and becomes a reminder; different content is queued.
 */
export function decideIntake(
  previous: IntakeState | undefined,
  key: string,
  now: number,
  dedupeWindowMs: number,
): IntakeOutcome {
  if (!previous || previous.contentKey !== key) return 'queued';
  return now - previous.acceptedAt < dedupeWindowMs ? 'duplicate' : 'reminder';
}
