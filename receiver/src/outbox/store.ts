// The outbox as the receiver sees it: a small interface so that a PostgreSQL store shared by several
// replicas can sit beside the SQLite one. Every method is async for that reason.
//
// Row life cycle: pending → inflight (claimed by the delivery loop) → deleted when delivered, back to
// pending with a later next attempt when a retryable error happened, or dead when the error was
// permanent or the row grew older than the maximum age. Rows of one group and destination are
// delivered one at a time, oldest first.

import type { IntakeOutcome } from './idempotency.js';
import type { DeliveryRecord } from './plan.js';

export interface EnqueueRequest {
  receivedAt: number;
  receiver: string;
  groupId: string;
  contentKey: string;
  /** The validated payload as JSON, unknown fields kept. */
  payload: string;
  destinations: readonly string[];
  dedupeWindowMs: number;
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
  payload: string;
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
  /** Marks up to `limit` due rows of `channel` in flight: the oldest pending row of groups with none in flight. */
  claim(channel: string, limit: number, now: number): Promise<OutboxRow[]>;
  /** Earliest next attempt of a pending row of `channel`, to know when to look again. */
  nextDue(channel: string): Promise<number | undefined>;
  record(channel: string, groupId: string): Promise<DeliveryRecord | undefined>;
  /** The row was delivered (or had nothing to do): delete it and keep the group's new record. */
  complete(row: OutboxRow, record: DeliveryRecord | undefined): Promise<void>;
  /**
   * A retryable failure: back to pending, tried again at `nextAttemptAt`; `record`, when given, replaces
   * the group's record in the same transaction (what the channel must know on the next attempt).
   */
  reschedule(row: OutboxRow, nextAttemptAt: number, error: string, record?: DeliveryRecord): Promise<void>;
  /** Gives up on the row; it stays visible as dead. */
  deadLetter(row: OutboxRow, error: string, now: number): Promise<void>;
  /** After a crash: rows left in flight go back to pending. Returns how many. */
  recover(): Promise<number>;
  stats(): Promise<OutboxStats[]>;
  dead(limit?: number): Promise<DeadRow[]>;
  /** Forgets closed delivery records, idempotency state and dead rows older than `before`. */
  prune(before: number): Promise<void>;
  /** Throws when the store cannot be read and written. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
