// Alert group → the webhook channel's JSON body (version "1"), pure. The body is documented in
// receiver/README.md (Webhook channel); a change to a field's meaning needs a new version.
import { createHash } from 'node:crypto';
import type { LicenceFacts } from '../../notification.js';
import type { RemediationSource } from '../../remediation.js';
import type { DeliveryEvent, EventKind } from '../channel.js';
import { linkList, plainText } from '../text.js';

export const WEBHOOK_BODY_VERSION = '1';

/** Cap for each free-text value in the `text` rendering (the structured fields are not cut). */
const TEXT_MAX_VALUE = 4000;

export interface WebhookAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface WebhookBody {
  version: typeof WEBHOOK_BODY_VERSION;
  event: EventKind;
  deliveryId: string;
  group: {
    id: string;
    identity: string;
    receiver: string;
    status: 'firing' | 'resolved';
    title: string;
    alertname: string;
    cluster?: string;
    severity?: string;
    summary?: string;
    description?: string;
    groupLabels: Record<string, string>;
    commonLabels: Record<string, string>;
    commonAnnotations: Record<string, string>;
    startedAt: string;
    resolvedAt?: string;
    openedAt: string;
    facts: LicenceFacts;
    truncatedAlerts: number;
    groupKey?: string;
  };
  /** At most max_alerts, firing first. */
  alerts: WebhookAlert[];
  /** Alerts of the group not listed in `alerts` (max_alerts). */
  alertsLeftOut: number;
  changes: { newlyFiring: string[]; newlyResolved: string[] };
  /** What to do; absent when the group is resolved (nothing is left to do). */
  remediation?: { text: string; source: RemediationSource; runbookFile?: string };
  /** Runbook, graph and silence; only the graph when the group is resolved. */
  links: { runbook?: string; graph?: string; silence?: string };
  /** The whole notification as plain text, for peers that only show a message. */
  text: string;
}

export interface WebhookRenderOptions {
  maxAlerts: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The id of one event of a group: the same for every attempt of that event (so that the peer can drop
 * a repeat), different for another event or other alert states. 32 hex characters: sha256 of the group
 * id, the event kind and the alerts' `fingerprint|status|startsAt`, sorted.
 */
export function deliveryId(event: DeliveryEvent): string {
  const { group } = event;
  const alerts = [...group.firing, ...group.resolved]
    .map((a) => `${a.fingerprint}|${a.status}|${iso(a.startsAt)}`)
    .sort();
  return createHash('sha256')
    .update(`webhook\n${group.id}\n${event.kind}\n${alerts.join('\n')}`)
    .digest('hex')
    .slice(0, 32);
}

export function renderWebhookBody(event: DeliveryEvent, options: WebhookRenderOptions): WebhookBody {
  const { group } = event;
  const all = [...group.firing, ...group.resolved];
  const listed = all.slice(0, options.maxAlerts);
  const body: WebhookBody = {
    version: WEBHOOK_BODY_VERSION,
    event: event.kind,
    deliveryId: deliveryId(event),
    group: {
      id: group.id,
      identity: group.identity,
      receiver: group.receiver,
      status: group.status,
      title: group.title,
      alertname: group.alertname,
      ...(group.cluster !== undefined ? { cluster: group.cluster } : {}),
      ...(group.severity !== undefined ? { severity: group.severity } : {}),
      ...(group.summary !== undefined ? { summary: group.summary } : {}),
      ...(group.description !== undefined ? { description: group.description } : {}),
      groupLabels: group.groupLabels,
      commonLabels: group.commonLabels,
      commonAnnotations: group.commonAnnotations,
      startedAt: iso(group.startedAt),
      ...(group.resolvedAt !== undefined ? { resolvedAt: iso(group.resolvedAt) } : {}),
      openedAt: iso(event.openedAt),
      facts: { ...group.facts },
      truncatedAlerts: group.truncatedAlerts,
      ...(group.groupKey !== undefined ? { groupKey: group.groupKey } : {}),
    },
    alerts: listed.map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      ...(a.endsAt !== undefined ? { endsAt: iso(a.endsAt) } : {}),
      ...(a.generatorURL !== undefined ? { generatorURL: a.generatorURL } : {}),
    })),
    alertsLeftOut: all.length - listed.length,
    changes: {
      newlyFiring: event.newlyFiring.map((a) => a.fingerprint),
      newlyResolved: event.newlyResolved.map((a) => a.fingerprint),
    },
    ...(group.status === 'firing'
      ? {
          remediation: {
            text: group.remediation.text,
            source: group.remediation.source,
            ...(group.remediation.runbookFile !== undefined
              ? { runbookFile: group.remediation.runbookFile }
              : {}),
          },
        }
      : {}),
    links: Object.fromEntries(linkList(group).map(([label, url]) => [label.toLowerCase(), url])),
    text: plainText(event, { maxAlerts: options.maxAlerts, maxValue: TEXT_MAX_VALUE }),
  };
  return body;
}
