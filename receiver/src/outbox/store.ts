// The outbox as the receiver sees it: a small interface so that a PostgreSQL store shared by several
// replicas can sit beside the SQLite one. Every method is async for that reason.
//
// Row life cycle: pending → inflight (claimed by the delivery loop) → deleted when delivered, back to
// pending with a later next attempt when a retryable error happened, or dead when the error was
// permanent or the row grew older than the maximum age. Rows of one group and destination are
// delivered one at a time, oldest first.
//
// Several receivers may share one store (PostgreSQL): then each claim is held under a lease by the
// receiver that made it, outcome writes change only a row the writer still holds (complete excepted:
// what was delivered is deleted wherever it is), a row whose claimer stopped renewing its lease is
// taken over by another receiver, at most one row per (channel, group) is in flight among them all,
// and a destination's rate limit is one bucket for all of them.
//
// What every implementation guarantees under failure (the delivery loop relies on it):
// - Each write method is one transaction: when its promise resolves the change is durable; when it
//   rejects nothing of it happened, or — after an ambiguous failure such as a lost commit answer — it
//   may have happened, and calling the same method again with the same arguments is harmless.
//   So outcome writes (complete, reschedule, deadLetter, release) are idempotent: complete of a row
//   already gone succeeds, and the others change a row only while it is still in flight.
// - A row whose outcome write failed stays in flight (its group waits) until the loop writes that
//   outcome again; the loop keeps the outcome in memory and never calls the destination again for it.
// - Reads (record, nextDue, stats, dead, ping) change nothing and may be retried freely.
// - enqueue rejecting means "not accepted" (the webhook answers 503 and Alertmanager retries).

import type { RateLimit } from '../channels/channel.js';
import type { IntakeOutcome, IntakeRequest } from './idempotency.js';
import type { DeliveryRecord, EventKind } from './plan.js';

/** A notification to route into rows: what intake decides it from, and what is stored. */
export interface EnqueueRequest extends IntakeRequest {
  receiver: string;
  /** The validated payload as JSON, unknown fields kept. */
  payload: string;
}

export interface EnqueueResult {
  outcomes: { channel: string; outcome: IntakeOutcome }[];
}

export interface OutboxRow {
  id: number;
  channel: string;
  groupId: string;
  /** Queued as a repeat of content already sent. */
  reminder: boolean;
  /** Attempts made before this one. */
  attempts: number;
  createdAt: number;
  /** When an operator last asked for the row to be tried again (its age for delivery.max_age counts from then). */
  retriedAt?: number;
  payload: string;
  /** A part left by a partial delivery (FollowUp), delivered alone with the channel's sendPart. */
  part?: StoredPart;
}

/** What a follow-up row delivers: one remaining part of a delivery, for one target. */
export interface StoredPart {
  target: string;
  data: Record<string, unknown>;
}

/**
 * A row that a partial delivery leaves behind, written with the completion of its row: pending (to
 * be delivered alone) or, with `deadError`, dead at once (reported).
 */
export interface FollowUp extends StoredPart {
  /** When it is due (pending) or when it died (dead). */
  at: number;
  deadError?: string;
}

export type RowState = 'pending' | 'inflight' | 'dead';
export const ROW_STATES: readonly RowState[] = ['pending', 'inflight', 'dead'];

/** One row as an operator sees it (`outbox list`, the status page). */
export interface OutboxEntry {
  id: number;
  channel: string;
  groupId: string;
  state: RowState;
  reminder: boolean;
  /** Attempts made (a retry by an operator starts again from 0). */
  attempts: number;
  createdAt: number;
  /** When a pending row is due. */
  nextAttemptAt: number;
  deadAt?: number;
  lastError?: string;
  retriedAt?: number;
  /**
   * For a dead row: when a newer notification of its group was delivered to the channel after this one
   * died. Retrying it would show an older state of the group (a firing message after the resolve).
   */
  supersededAt?: number;
  /** The stored notification, as the delivery loop reads it. */
  payload: string;
}

export interface ListQuery {
  /** Default: every state. */
  states?: readonly RowState[];
  channel?: string;
  /** Default 1000, newest first. */
  limit?: number;
}

/** Who did what, for the delivery log of an operator's action. */
export interface ActionNote {
  at: number;
  /** `cli`, `ui:ops`: who asked. */
  by: string;
  /** The group's title, for the log. */
  title?: string;
}

export type ActionOutcome = 'requeued' | 'discarded' | 'not-found' | 'in-flight' | 'not-dead' | 'superseded';

export interface ActionResult {
  id: number;
  outcome: ActionOutcome;
  /** With `superseded`: when the newer notification was delivered. */
  supersededAt?: number;
}

/** How a delivery went, given by the delivery loop so that the log can say what it was. */
export interface DeliveryNote {
  at: number;
  kind?: EventKind;
  /** The group's title: `CalicoLicenseExpiringSoon cluster=prod`. */
  title?: string;
  /** complete(): there was nothing to send (logged `skipped`, not `sent`). */
  skipped?: boolean;
}

export type LogOutcome = 'sent' | 'skipped' | 'retry' | 'dead' | 'requeued' | 'discarded';

/** One line of the delivery log: every attempt's outcome and every operator action, kept for `delivery.retention`. */
export interface DeliveryLogEntry {
  id: number;
  at: number;
  channel: string;
  groupId: string;
  rowId: number;
  outcome: LogOutcome;
  kind?: EventKind;
  title?: string;
  error?: string;
  by?: string;
}

export interface ChannelHealth extends OutboxStats {
  lastSuccessAt?: number;
  lastErrorAt?: number;
  lastError?: string;
}

export interface OutboxStats {
  channel: string;
  pending: number;
  inflight: number;
  dead: number;
  /** createdAt of the oldest row not yet delivered (pending or inflight). */
  oldestCreatedAt?: number;
}

export interface DeadRow {
  id: number;
  channel: string;
  groupId: string;
  attempts: number;
  createdAt: number;
  deadAt: number;
  error: string;
}

export interface OutboxStore {
  /** Routes one notification into rows, one per destination, in one transaction, deduplicating. */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult>;
  /**
   * Marks up to `limit` due rows of `channel` in flight: the oldest pending row of groups with none in
   * flight. `rate`: the destination's limit, which a store shared by several receivers holds for them
   * all (it claims no more rows than its shared bucket has tokens); a store of one receiver ignores it
   * (the delivery loop's own bucket holds it).
   */
  claim(channel: string, limit: number, now: number, rate?: RateLimit): Promise<OutboxRow[]>;
  /**
   * When to look for rows of `channel` again: the earliest next attempt of a pending row (or, in a
   * shared store, when its shared bucket has a token again, if that is later).
   */
  nextDue(channel: string): Promise<number | undefined>;
  /**
   * The destination asked to wait (Retry-After) until `until`: in a store shared by several receivers,
   * none of them claims rows of `channel` before then. A store of one receiver does nothing (the loop's
   * own bucket waits).
   */
  pause(channel: string, until: number, now: number, rate?: RateLimit): Promise<void>;
  /** What the destination shows for the group (undefined: nothing yet). A read. */
  record(channel: string, groupId: string): Promise<DeliveryRecord | undefined>;
  /**
   * The row was delivered (or had nothing to do): delete it, keep the group's new record and add the
   * follow-up rows (same notification, group `<groupId>/<target>`), in one transaction. Idempotent.
   * With a note, the delivery log says `sent` (or `skipped`), once.
   */
  complete(
    row: OutboxRow,
    record: DeliveryRecord | undefined,
    followUps?: readonly FollowUp[],
    note?: DeliveryNote,
  ): Promise<void>;
  /**
   * A retryable failure: back to pending, tried again at `nextAttemptAt`, one more attempt counted;
   * `record`, when given, replaces the group's record in the same transaction (what the channel must
   * know on the next attempt). Only changes a row still in flight (and only then logs the note).
   */
  reschedule(
    row: OutboxRow,
    nextAttemptAt: number,
    error: string,
    record?: DeliveryRecord,
    note?: DeliveryNote,
  ): Promise<void>;
  /** Gives up on the row; it stays visible as dead. Only changes a row still in flight. */
  deadLetter(row: OutboxRow, error: string, now: number, note?: DeliveryNote): Promise<void>;
  /**
   * Back to pending without counting an attempt: the row was claimed but nothing was sent (the store
   * could not be read). Only changes a row still in flight.
   */
  release(row: OutboxRow, nextAttemptAt: number, reason: string): Promise<void>;
  /**
   * At start, before anything is claimed: rows left in flight by a process that stopped go back to
   * pending. Returns how many. (A store shared by several receivers must only reset rows whose
   * claimer is gone — e.g. claims with a lease — never another live receiver's.)
   */
  recover(): Promise<number>;
  stats(): Promise<OutboxStats[]>;
  dead(limit?: number): Promise<DeadRow[]>;

  // What an operator sees and does (CLI, status page). These may run in another process than the
  // delivery loop: each is one transaction that checks the row's state as it writes.

  /** Rows not yet delivered, newest first. */
  list(query?: ListQuery): Promise<OutboxEntry[]>;
  get(id: number): Promise<OutboxEntry | undefined>;
  /**
   * A dead row back to pending, due now, its attempts and age counted again from now: the delivery loop
   * sends it once. Refused (`superseded`) when a newer notification of its group was delivered since.
   */
  requeue(id: number, note: ActionNote): Promise<ActionResult>;
  /** Deletes a dead or pending row (never one in flight). */
  discard(id: number, note: ActionNote): Promise<ActionResult>;
  /** The delivery log, newest first. */
  recent(limit?: number): Promise<DeliveryLogEntry[]>;
  /** Per channel: rows by state and the last success and error from the delivery log. */
  health(): Promise<ChannelHealth[]>;

  /** Forgets closed delivery records, idempotency state, dead rows and log lines older than `before`. */
  prune(before: number): Promise<void>;
  /** Throws when the store cannot be read. */
  ping(): Promise<void>;
  /**
   * Commits a small write (a heartbeat row); throws when the store cannot be written now (full disk,
   * I/O error, read-only). Readiness asks this, so it must be cheap and must not wait long.
   */
  checkWritable(now: number): Promise<void>;
  close(): Promise<void>;
}
