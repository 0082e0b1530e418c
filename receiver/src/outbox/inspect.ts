// The outbox as an operator reads it — `license-receiver outbox list|show`, the status page and
// /api/v1/outbox: each row with its alert group told in words (title, alert names, status) and times as
// RFC 3339, the same fields everywhere. Pure apart from parsing the stored notification.
import type { ReceiverConfig } from '../config.js';
import { viewFactory } from '../intake.js';
import type { GroupView } from '../notification.js';
import type { ChannelHealth, DeliveryLogEntry, OutboxEntry, RowState } from './store.js';

/** One alert of the row's notification. */
export interface AlertSummary {
  alertname: string;
  status: 'firing' | 'resolved';
  /** The labels that tell it from the other alerts of the group. */
  distinct: Record<string, string>;
}

/** A row for people and for JSON (`outbox list --json`, /api/v1/outbox). */
export interface EntryView {
  id: number;
  channel: string;
  state: RowState;
  /** The group's identity: `license-receiver{alertname="X",cluster="prod"}`. */
  group: string;
  group_id: string;
  /** `CalicoLicenseExpiringSoon cluster=prod`, or why the stored notification cannot be read. */
  title: string;
  /** The notification's status (firing while any of its alerts fires); absent when it cannot be read. */
  status?: 'firing' | 'resolved';
  /** The alert names of the group, each once, in order. */
  alertnames: string[];
  alerts: AlertSummary[];
  /** A repeat of content already sent (Alertmanager's repeat_interval). */
  reminder: boolean;
  attempts: number;
  last_error: string | null;
  created_at: string;
  /** When a pending row is tried next. */
  next_attempt_at: string | null;
  dead_at: string | null;
  retried_at: string | null;
  /** A dead row whose group was delivered since: retrying it would show an older state. */
  superseded_at: string | null;
}

export interface LogView {
  at: string;
  channel: string;
  group_id: string;
  row: number;
  outcome: DeliveryLogEntry['outcome'];
  kind: string | null;
  title: string | null;
  error: string | null;
  by: string | null;
}

export interface ChannelView {
  channel: string;
  type: string | null;
  /** `ok`, `failing` (the last attempt failed), `dead letters` (some given up), `idle` (nothing yet). */
  health: 'ok' | 'failing' | 'dead letters' | 'idle';
  pending: number;
  inflight: number;
  dead: number;
  oldest_pending_at: string | null;
  last_success_at: string | null;
  last_error_at: string | null;
  last_error: string | null;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** Reads rows as the delivery loop would (no runbooks needed: only the group is described). */
export function entryDescriber(
  config: Pick<ReceiverConfig, 'clusterLabel'>,
): (entry: OutboxEntry) => EntryView {
  const viewOf = viewFactory({
    clusterLabel: config.clusterLabel,
    alertmanagerUrl: undefined,
    runbooksDir: undefined,
  });
  return (entry) => {
    let group: GroupView | undefined;
    let problem = '';
    try {
      group = viewOf(entry);
    } catch (err) {
      problem = (err as Error).message;
    }
    const alerts: AlertSummary[] = group
      ? [...group.firing, ...group.resolved].map((a) => ({
          alertname: a.labels.alertname ?? group?.alertname ?? '',
          status: a.status,
          distinct: a.distinct,
        }))
      : [];
    const view: EntryView = {
      id: entry.id,
      channel: entry.channel,
      state: entry.state,
      group: group?.identity ?? '',
      group_id: entry.groupId,
      title: group?.title ?? `(the stored notification cannot be read: ${problem})`,
      alertnames: [...new Set(alerts.map((a) => a.alertname))],
      alerts,
      reminder: entry.reminder,
      attempts: entry.attempts,
      last_error: entry.lastError ?? null,
      created_at: iso(entry.createdAt) as string,
      next_attempt_at: entry.state === 'pending' ? iso(entry.nextAttemptAt) : null,
      dead_at: iso(entry.deadAt),
      retried_at: iso(entry.retriedAt),
      superseded_at: iso(entry.supersededAt),
    };
    if (group) view.status = group.status;
    return view;
  };
}

export function logView(entry: DeliveryLogEntry): LogView {
  return {
    at: iso(entry.at) as string,
    channel: entry.channel,
    group_id: entry.groupId,
    row: entry.rowId,
    outcome: entry.outcome,
    kind: entry.kind ?? null,
    title: entry.title ?? null,
    error: entry.error ?? null,
    by: entry.by ?? null,
  };
}

/** Every configured channel (with its type), and any other the store still holds rows of. */
export function channelViews(
  health: readonly ChannelHealth[],
  configured: readonly { name: string; type: string }[],
): ChannelView[] {
  const byName = new Map(health.map((h) => [h.channel, h]));
  const names = [...configured.map((c) => c.name), ...health.map((h) => h.channel)];
  return [...new Set(names)].map((name) => {
    const h = byName.get(name) ?? { channel: name, pending: 0, inflight: 0, dead: 0 };
    const failing = h.lastErrorAt !== undefined && (h.lastSuccessAt ?? 0) < h.lastErrorAt;
    return {
      channel: name,
      type: configured.find((c) => c.name === name)?.type ?? null,
      health: failing
        ? 'failing'
        : h.dead > 0
          ? 'dead letters'
          : h.lastSuccessAt === undefined
            ? 'idle'
            : 'ok',
      pending: h.pending,
      inflight: h.inflight,
      dead: h.dead,
      oldest_pending_at: iso(h.oldestCreatedAt),
      last_success_at: iso(h.lastSuccessAt),
      last_error_at: iso(h.lastErrorAt),
      last_error: h.lastError ?? null,
    };
  });
}

/** The words of an action's outcome, for the CLI and the status page. */
export function actionText(
  result: { id: number; outcome: string; supersededAt?: number },
  pollInterval: string,
): string {
  switch (result.outcome) {
    case 'requeued':
      return `row ${result.id} is queued again: the receiver sends it within ${pollInterval}`;
    case 'discarded':
      return `row ${result.id} is discarded`;
    case 'not-found':
      return `row ${result.id} is not in the outbox (delivered, discarded or pruned)`;
    case 'in-flight':
      return `row ${result.id} is being delivered right now: wait for the outcome`;
    case 'not-dead':
      return `row ${result.id} is not dead: it is pending and will be tried anyway`;
    case 'superseded':
      return `row ${result.id} is superseded: a newer notification of its group was delivered at ${iso(result.supersededAt)}, so sending this one would show an older state; discard it`;
    default:
      return `row ${result.id}: ${result.outcome}`;
  }
}
