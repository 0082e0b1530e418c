// The outbox's rows as both stores read them (SQLite and PostgreSQL have the same tables and column
// names), and their mapping to what the rest of the receiver sees.
import type { IntakeState } from './idempotency.js';
import type { DeliveryLogEntry, LogOutcome, OutboxEntry, OutboxRow, RowState } from './store.js';

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
