// The intake: a validated payload → its group identity, content key and destinations → outbox rows,
// one per destination, in one transaction. Never talks to Slack or SMTP.
import { type AlertmanagerPayload, parseWebhookPayload } from './alertmanager.js';
import type { ReceiverConfig } from './config.js';
import type { ReceiverMetrics } from './metrics.js';
import { buildGroupView, type GroupView } from './notification.js';
import {
  alertKeys,
  contentKey,
  type GroupIdentity,
  groupIdentity,
  type IntakeOutcome,
} from './outbox/idempotency.js';
import type { OutboxRow, OutboxStore } from './outbox/store.js';
import { RunbookCatalog } from './remediation.js';
import { type Route, route } from './routing.js';

/** What is stored per notification: the payload and what the intake derived from it. */
export interface StoredNotification {
  receiver: string;
  identity: GroupIdentity;
  payload: AlertmanagerPayload;
}

export interface IntakeSettings {
  routes: readonly Route[];
  defaultChannels: readonly string[];
  dedupeWindowMs: number;
  groupIdentityTemplate?: string;
}

export interface Accepted {
  identity: GroupIdentity;
  destinations: { channel: string; outcome: IntakeOutcome }[];
}

export class Intake {
  constructor(
    private readonly store: OutboxStore,
    private readonly settings: IntakeSettings,
    private readonly metrics: ReceiverMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Writes the notification to the outbox; throws when the store cannot be written. With `raw` (the
   * body as received) the payload is stored as sent, without serialising it again.
   */
  async accept(payload: AlertmanagerPayload, pathReceiver?: string, raw?: string): Promise<Accepted> {
    const receiver = pathReceiver ?? payload.receiver ?? '';
    const identity = groupIdentity(payload, receiver, this.settings.groupIdentityTemplate);
    const destinations = route(this.settings.routes, this.settings.defaultChannels, {
      receiver,
      labels: payload.commonLabels,
    });
    if (destinations.length === 0) return { identity, destinations: [] };
    const stored =
      raw === undefined
        ? JSON.stringify({ receiver, identity, payload } satisfies StoredNotification)
        : `{"receiver":${JSON.stringify(receiver)},"identity":${JSON.stringify(identity)},"raw":true,"payload":${raw}}`;
    const result = await this.store.enqueue({
      receivedAt: this.now(),
      receiver,
      groupId: identity.id,
      contentKey: contentKey(payload),
      ...alertKeys(payload),
      payload: stored,
      destinations,
      dedupeWindowMs: this.settings.dedupeWindowMs,
    });
    for (const { channel, outcome } of result.outcomes)
      if (outcome === 'duplicate' || outcome === 'stale')
        this.metrics.deduplicated.inc({ channel, stage: outcome === 'stale' ? 'stale' : 'intake' });
    return { identity, destinations: result.outcomes };
  }
}

export function readStored(row: OutboxRow): StoredNotification {
  const stored = JSON.parse(row.payload) as StoredNotification & { raw?: boolean };
  if (!stored.raw) return stored;
  // Stored as received: check and normalise it again, as at intake.
  const parsed = parseWebhookPayload(stored.payload);
  if (!parsed.ok)
    throw new Error(
      `stored payload is invalid: ${parsed.problems[0]?.field}: ${parsed.problems[0]?.message}`,
    );
  return { receiver: stored.receiver, identity: stored.identity, payload: parsed.payload };
}

/** Turns a stored row back into the view channels render. */
export function viewFactory(
  config: Pick<ReceiverConfig, 'clusterLabel' | 'alertmanagerUrl' | 'runbooksDir'>,
) {
  const catalog = new RunbookCatalog(config.runbooksDir);
  return (row: OutboxRow): GroupView => {
    const stored = readStored(row);
    return buildGroupView(stored.payload, {
      identity: stored.identity,
      receiver: stored.receiver,
      catalog,
      clusterLabel: config.clusterLabel,
      ...(config.alertmanagerUrl !== undefined ? { alertmanagerUrl: config.alertmanagerUrl } : {}),
    });
  };
}
