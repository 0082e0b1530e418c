// The outbox's rows as both stores read them (SQLite and PostgreSQL have the same tables and column
// names), and their mapping to what the rest of the receiver sees.
import type { IntakeState } from './idempotency.js';
import type { DeliveryRecord } from './plan.js';
import type {
  ChannelHealth,
  DeadRow,
  DeliveryLogEntry,
  LogOutcome,
  OutboxEntry,
  OutboxRow,
  OutboxStats,
  RowState,
} from './store.js';

export interface RowData {
  id: number;
  channel: string;
  group_id: string;
  /** SQLite: 0 or 1; PostgreSQL: a boolean. */
  reminder: number | boolean;
  attempts: number;
  created_at: number;
  retried_at: number | null;
  payload: string;
  part: string | null;
}

/** A group's last accepted notification for one destination (table intake). */
export interface IntakeColumns {
  content_key: string;
  accepted_at: number;
  /** Alert keys it showed resolved, one per line (null: none). */
  resolved: string | null;
}

export const intakeState = (row: IntakeColumns): IntakeState => ({
  contentKey: row.content_key,
  acceptedAt: row.accepted_at,
  resolved: row.resolved ? row.resolved.split('\n') : [],
});

export const resolvedColumn = (keys: readonly string[] | undefined): string | null =>
  keys && keys.length > 0 ? keys.join('\n') : null;

export interface EntryData extends RowData {
  state: RowState;
  next_attempt_at: number;
  dead_at: number | null;
  last_error: string | null;
  superseded_at: number | null;
}

export interface LogData {
  id: number;
  at: number;
  channel: string;
  group_id: string;
  row_id: number;
  outcome: LogOutcome;
  kind: string | null;
  title: string | null;
  error: string | null;
  by: string | null;
}

/** Errors are kept to this many characters. */
export const ERROR_MAX = 2000;
export const clip = (text: string) => text.slice(0, ERROR_MAX);

/**
 * An operator's view of rows: `SELECT ${entryColumns(prefix)} WHERE …`, tables in `prefix` (a schema and
 * a dot, or nothing). A dead row is superseded once its group got a newer delivery after the row died
 * (rows of a group are delivered in order, so a delivery after `dead_at` is of a newer notification);
 * a follow-up row (`<group>/<target>`) belongs to its notification's group.
 */
export const entryColumns = (
  prefix = '',
) => `o.id, o.channel, o.group_id, o.state, o.reminder, o.attempts, o.created_at,
  o.next_attempt_at, o.dead_at, o.last_error, o.retried_at, n.payload, o.part,
  CASE WHEN o.state = 'dead' AND d.updated_at > o.dead_at THEN d.updated_at END AS superseded_at
  FROM ${prefix}outbox o JOIN ${prefix}notifications n ON n.id = o.notification_id
  LEFT JOIN ${prefix}deliveries d ON d.channel = o.channel AND d.group_id = n.group_id`;

/** Copies the values that are not NULL (NULL is an absent optional field). */
export function setPresent<T extends object>(target: T, values: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(values))
    if (value !== null && value !== undefined) Object.assign(target, { [key]: value });
  return target;
}

export function toRow(r: RowData): OutboxRow {
  const row: OutboxRow = {
    id: r.id,
    channel: r.channel,
    groupId: r.group_id,
    reminder: r.reminder === true || r.reminder === 1,
    attempts: r.attempts,
    createdAt: r.created_at,
    payload: r.payload,
  };
  if (r.part !== null) row.part = JSON.parse(r.part) as NonNullable<OutboxRow['part']>;
  return setPresent(row, { retriedAt: r.retried_at });
}

export function toEntry(r: EntryData): OutboxEntry {
  const entry: OutboxEntry = { ...toRow(r), state: r.state, nextAttemptAt: r.next_attempt_at };
  return setPresent(entry, { deadAt: r.dead_at, lastError: r.last_error, supersededAt: r.superseded_at });
}

export function toLogEntry(r: LogData): DeliveryLogEntry {
  const entry: DeliveryLogEntry = {
    id: r.id,
    at: r.at,
    channel: r.channel,
    groupId: r.group_id,
    rowId: r.row_id,
    outcome: r.outcome,
  };
  return setPresent(entry, { kind: r.kind, title: r.title, error: r.error, by: r.by });
}

/** A group's record as the deliveries table holds it. */
export interface RecordData {
  state: 'open' | 'closed';
  ref: string;
  firing: string;
  opened_at: number;
  updated_at: number;
}

export const toRecord = (row: RecordData): DeliveryRecord => ({
  state: row.state,
  ref: JSON.parse(row.ref) as DeliveryRecord['ref'],
  firing: JSON.parse(row.firing) as string[],
  openedAt: row.opened_at,
  updatedAt: row.updated_at,
});

/** The values of a deliveries row: channel, group_id, state, ref, firing, opened_at, updated_at. */
export const recordValues = (row: Pick<OutboxRow, 'channel' | 'groupId'>, record: DeliveryRecord) => [
  row.channel,
  row.groupId,
  record.state,
  JSON.stringify(record.ref),
  JSON.stringify(record.firing),
  record.openedAt,
  record.updatedAt,
];

export interface LogNote {
  at: number;
  kind?: string | undefined;
  title?: string | undefined;
  by?: string;
}

/** The values of a delivery_log row: at, channel, group_id, row_id, outcome, kind, title, error, by. */
export const logValues = (
  row: Pick<OutboxRow, 'id' | 'channel' | 'groupId'>,
  outcome: LogOutcome,
  note: LogNote,
  error?: string,
) => [
  note.at,
  row.channel,
  row.groupId,
  row.id,
  outcome,
  note.kind ?? null,
  note.title ?? null,
  error === undefined ? null : clip(error),
  note.by ?? null,
];

export const toDeadRow = (e: OutboxEntry): DeadRow => ({
  id: e.id,
  channel: e.channel,
  groupId: e.groupId,
  attempts: e.attempts,
  createdAt: e.createdAt,
  deadAt: e.deadAt ?? 0,
  error: e.lastError ?? '',
});

/** Per channel, from its rows and its delivery log's last success and last error, by channel name. */
export function channelHealth(
  stats: readonly OutboxStats[],
  lastSuccess: readonly { channel: string; at: number }[],
  lastError: readonly { channel: string; at: number; error: string | null }[],
): ChannelHealth[] {
  const byChannel = new Map<string, ChannelHealth>();
  const of = (channel: string): ChannelHealth => {
    let h = byChannel.get(channel);
    if (!h) {
      h = { channel, pending: 0, inflight: 0, dead: 0 };
      byChannel.set(channel, h);
    }
    return h;
  };
  for (const stat of stats) Object.assign(of(stat.channel), stat);
  for (const r of lastSuccess) of(r.channel).lastSuccessAt = r.at;
  for (const r of lastError) {
    const h = of(r.channel);
    h.lastErrorAt = r.at;
    if (r.error !== null) h.lastError = r.error;
  }
  return [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel));
}
