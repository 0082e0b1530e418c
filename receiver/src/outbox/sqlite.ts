// The outbox in one SQLite file (better-sqlite3, WAL). One receiver process per file: the database is
// opened in exclusive locking mode, so a second process fails at start instead of delivering twice.
// Writes commit with synchronous=FULL by default, so an answered webhook survives a power loss too
// (with NORMAL it survives a process crash, not a power loss).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decideIntake, type IntakeOutcome } from './idempotency.js';
import type { DeliveryRecord } from './plan.js';
import type {
  DeadRow,
  EnqueueRequest,
  EnqueueResult,
  FollowUp,
  OutboxRow,
  OutboxStats,
  OutboxStore,
} from './store.js';

export interface SqliteOptions {
  path: string;
  synchronous?: 'full' | 'normal';
  /** How long to wait for a lock held by another process before failing (default 2 s). */
  busyTimeoutMs?: number;
}

// 2: outbox.part (follow-up rows of a partial delivery).
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  receiver TEXT NOT NULL,
  group_id TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  notification_id INTEGER NOT NULL REFERENCES notifications(id),
  channel TEXT NOT NULL,
  group_id TEXT NOT NULL,
  reminder INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  dead_at INTEGER,
  last_error TEXT,
  part TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (channel, state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_group ON outbox (channel, group_id, state, id);
CREATE INDEX IF NOT EXISTS outbox_notification ON outbox (notification_id);
CREATE TABLE IF NOT EXISTS intake (
  channel TEXT NOT NULL,
  group_id TEXT NOT NULL,
  content_key TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (channel, group_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
  channel TEXT NOT NULL,
  group_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  ref TEXT NOT NULL,
  firing TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, group_id)
);
`;

interface RowData {
  id: number;
  channel: string;
  group_id: string;
  reminder: number;
  attempts: number;
  created_at: number;
  payload: string;
  part: string | null;
}

function prepare(db: Database.Database) {
  return {
    insertNotification: db.prepare(
      'INSERT INTO notifications (received_at, receiver, group_id, payload) VALUES (?, ?, ?, ?)',
    ),
    getIntake: db.prepare('SELECT content_key, accepted_at FROM intake WHERE channel = ? AND group_id = ?'),
    putIntake: db.prepare(
      'INSERT INTO intake (channel, group_id, content_key, accepted_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (channel, group_id) DO UPDATE SET content_key = excluded.content_key, accepted_at = excluded.accepted_at',
    ),
    insertRow: db.prepare(
      'INSERT INTO outbox (notification_id, channel, group_id, reminder, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    // The oldest pending row of each group that has nothing in flight and nothing older pending.
    due: db.prepare(`
      SELECT o.id, o.channel, o.group_id, o.reminder, o.attempts, o.created_at, n.payload, o.part
      FROM outbox o JOIN notifications n ON n.id = o.notification_id
      WHERE o.channel = ? AND o.state = 'pending' AND o.next_attempt_at <= ?
        AND NOT EXISTS (
          SELECT 1 FROM outbox p
          WHERE p.channel = o.channel AND p.group_id = o.group_id
            AND (p.state = 'inflight' OR (p.state = 'pending' AND p.id < o.id)))
      ORDER BY o.id LIMIT ?`),
    markInflight: db.prepare("UPDATE outbox SET state = 'inflight' WHERE id = ?"),
    nextDue: db.prepare(
      "SELECT MIN(next_attempt_at) AS at FROM outbox WHERE channel = ? AND state = 'pending'",
    ),
    getRecord: db.prepare(
      'SELECT state, ref, firing, opened_at, updated_at FROM deliveries WHERE channel = ? AND group_id = ?',
    ),
    putRecord: db.prepare(
      'INSERT INTO deliveries (channel, group_id, state, ref, firing, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (channel, group_id) DO UPDATE SET state = excluded.state, ref = excluded.ref, ' +
        'firing = excluded.firing, opened_at = excluded.opened_at, updated_at = excluded.updated_at',
    ),
    deleteRow: db.prepare('DELETE FROM outbox WHERE id = ?'),
    notificationOf: db.prepare('SELECT notification_id AS id FROM outbox WHERE id = ?'),
    deleteUnused: db.prepare(
      'DELETE FROM notifications WHERE id = ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE notification_id = ?)',
    ),
    insertFollowUp: db.prepare(
      'INSERT INTO outbox (notification_id, channel, group_id, state, created_at, next_attempt_at, dead_at, last_error, part) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    // Outcome writes change a row only while it is in flight, so writing one again is harmless.
    reschedule: db.prepare(
      "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'inflight'",
    ),
    deadLetter: db.prepare(
      "UPDATE outbox SET state = 'dead', attempts = attempts + 1, dead_at = ?, last_error = ? WHERE id = ? AND state = 'inflight'",
    ),
    release: db.prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'inflight'",
    ),
    writeCheck: db.prepare(
      "INSERT INTO meta (key, value) VALUES ('write_check', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    recover: db.prepare("UPDATE outbox SET state = 'pending' WHERE state = 'inflight'"),
    stats: db.prepare(`
      SELECT channel,
        SUM(state = 'pending') AS pending, SUM(state = 'inflight') AS inflight, SUM(state = 'dead') AS dead,
        MIN(CASE WHEN state != 'dead' THEN created_at END) AS oldest
      FROM outbox GROUP BY channel`),
    dead: db.prepare(
      "SELECT id, channel, group_id, attempts, created_at, dead_at, last_error FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?",
    ),
    pruneRecords: db.prepare("DELETE FROM deliveries WHERE state = 'closed' AND updated_at < ?"),
    pruneIntake: db.prepare('DELETE FROM intake WHERE accepted_at < ?'),
    pruneDead: db.prepare("DELETE FROM outbox WHERE state = 'dead' AND dead_at < ?"),
    pruneNotifications: db.prepare(
      'DELETE FROM notifications WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE notification_id = notifications.id)',
    ),
    ping: db.prepare('SELECT 1'),
  };
}

export class SqliteStore implements OutboxStore {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepare>;
  private readonly enqueueTx: (requests: EnqueueRequest[]) => EnqueueResult[];
  /** Intake writes waiting for the next group commit. */
  private queued: {
    request: EnqueueRequest;
    resolve: (r: EnqueueResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private flushScheduled = false;
  private readonly claimTx: (channel: string, limit: number, now: number) => OutboxRow[];

  constructor(options: SqliteOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 2000 });
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.exec('BEGIN IMMEDIATE'); // takes the exclusive lock now: a second process fails here
    try {
      this.db.exec(SCHEMA);
      const columns = this.db.prepare('PRAGMA table_info(outbox)').all() as { name: string }[];
      if (!columns.some((c) => c.name === 'part')) this.db.exec('ALTER TABLE outbox ADD COLUMN part TEXT');
      const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
        | { value: string }
        | undefined;
      if (version && Number(version.value) > SCHEMA_VERSION)
        throw new Error(
          `store schema version ${version.value} is newer than this receiver (${SCHEMA_VERSION})`,
        );
      this.db
        .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
        .run(String(SCHEMA_VERSION));
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      this.db.close();
      throw err;
    }

    const db = this.db;
    this.statements = prepare(db);
    const s = this.statements;

    const enqueueOne = (request: EnqueueRequest): EnqueueResult => {
      const outcomes: EnqueueResult['outcomes'] = [];
      let notificationId: number | bigint | undefined;
      for (const channel of request.destinations) {
        const previous = s.getIntake.get(channel, request.groupId) as
          | { content_key: string; accepted_at: number }
          | undefined;
        const outcome: IntakeOutcome = decideIntake(
          previous && { contentKey: previous.content_key, acceptedAt: previous.accepted_at },
          request.contentKey,
          request.receivedAt,
          request.dedupeWindowMs,
        );
        outcomes.push({ channel, outcome });
        if (outcome === 'duplicate') continue;
        notificationId ??= s.insertNotification.run(
          request.receivedAt,
          request.receiver,
          request.groupId,
          request.payload,
        ).lastInsertRowid;
        s.putIntake.run(channel, request.groupId, request.contentKey, request.receivedAt);
        s.insertRow.run(
          notificationId,
          channel,
          request.groupId,
          outcome === 'reminder' ? 1 : 0,
          request.receivedAt,
          request.receivedAt,
        );
      }
      return { outcomes };
    };
    this.enqueueTx = db.transaction((requests: EnqueueRequest[]) => requests.map(enqueueOne));

    this.claimTx = db.transaction((channel: string, limit: number, now: number): OutboxRow[] => {
      const rows = s.due.all(channel, now, limit) as RowData[];
      for (const row of rows) s.markInflight.run(row.id);
      return rows.map((r) => {
        const row: OutboxRow = {
          id: r.id,
          channel: r.channel,
          groupId: r.group_id,
          reminder: r.reminder === 1,
          attempts: r.attempts,
          createdAt: r.created_at,
          payload: r.payload,
        };
        if (r.part !== null) row.part = JSON.parse(r.part) as NonNullable<OutboxRow['part']>;
        return row;
      });
    });
  }

  /**
   * Group commit: the writes of all webhooks that arrived in the same turn of the event loop go in one
   * transaction (one fsync), in arrival order, so a duplicate still sees the row of its twin.
   */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.queued.push({ request, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Several intake writes in one transaction, in order (used by the store thread). */
  enqueueBatch(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
    return Promise.all(requests.map((r) => this.enqueue(r)));
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    let results: EnqueueResult[];
    try {
      if (!this.db.open) throw new Error('the store is closed');
      results = this.enqueueTx(batch.map((b) => b.request));
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    for (const [i, b] of batch.entries()) b.resolve(results[i] as EnqueueResult);
  }

  async claim(channel: string, limit: number, now: number): Promise<OutboxRow[]> {
    if (limit <= 0) return [];
    return this.claimTx(channel, limit, now);
  }

  async nextDue(channel: string): Promise<number | undefined> {
    const row = this.statements.nextDue.get(channel) as { at: number | null };
    return row.at ?? undefined;
  }

  async record(channel: string, groupId: string): Promise<DeliveryRecord | undefined> {
    const row = this.statements.getRecord.get(channel, groupId) as
      | { state: 'open' | 'closed'; ref: string; firing: string; opened_at: number; updated_at: number }
      | undefined;
    if (!row) return undefined;
    return {
      state: row.state,
      ref: JSON.parse(row.ref) as DeliveryRecord['ref'],
      firing: JSON.parse(row.firing) as string[],
      openedAt: row.opened_at,
      updatedAt: row.updated_at,
    };
  }

  private putRecord(row: OutboxRow, record: DeliveryRecord): void {
    this.statements.putRecord.run(
      row.channel,
      row.groupId,
      record.state,
      JSON.stringify(record.ref),
      JSON.stringify(record.firing),
      record.openedAt,
      record.updatedAt,
    );
  }

  async complete(
    row: OutboxRow,
    record: DeliveryRecord | undefined,
    followUps: readonly FollowUp[] = [],
  ): Promise<void> {
    const s = this.statements;
    this.db.transaction(() => {
      if (record) this.putRecord(row, record);
      const owner = s.notificationOf.get(row.id) as { id: number } | undefined;
      if (owner)
        for (const f of followUps)
          s.insertFollowUp.run(
            owner.id,
            row.channel,
            `${row.groupId}/${f.target}`,
            f.deadError === undefined ? 'pending' : 'dead',
            row.createdAt,
            f.at,
            f.deadError === undefined ? null : f.at,
            f.deadError?.slice(0, 2000) ?? null,
            JSON.stringify({ target: f.target, data: f.data }),
          );
      s.deleteRow.run(row.id);
      if (owner) s.deleteUnused.run(owner.id, owner.id);
    })();
  }

  async reschedule(
    row: OutboxRow,
    nextAttemptAt: number,
    error: string,
    record?: DeliveryRecord,
  ): Promise<void> {
    this.db.transaction(() => {
      if (record) this.putRecord(row, record);
      this.statements.reschedule.run(nextAttemptAt, error.slice(0, 2000), row.id);
    })();
  }

  async deadLetter(row: OutboxRow, error: string, now: number): Promise<void> {
    this.statements.deadLetter.run(now, error.slice(0, 2000), row.id);
  }

  async release(row: OutboxRow, nextAttemptAt: number, reason: string): Promise<void> {
    this.statements.release.run(nextAttemptAt, reason.slice(0, 2000), row.id);
  }

  async recover(): Promise<number> {
    return this.statements.recover.run().changes;
  }

  async stats(): Promise<OutboxStats[]> {
    const rows = this.statements.stats.all() as {
      channel: string;
      pending: number;
      inflight: number;
      dead: number;
      oldest: number | null;
    }[];
    return rows.map((r) => {
      const stat: OutboxStats = {
        channel: r.channel,
        pending: r.pending,
        inflight: r.inflight,
        dead: r.dead,
      };
      if (r.oldest !== null) stat.oldestCreatedAt = r.oldest;
      return stat;
    });
  }

  async dead(limit = 100): Promise<DeadRow[]> {
    const rows = this.statements.dead.all(limit) as {
      id: number;
      channel: string;
      group_id: string;
      attempts: number;
      created_at: number;
      dead_at: number;
      last_error: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      channel: r.channel,
      groupId: r.group_id,
      attempts: r.attempts,
      createdAt: r.created_at,
      deadAt: r.dead_at,
      error: r.last_error,
    }));
  }

  async prune(before: number): Promise<void> {
    const s = this.statements;
    this.db.transaction(() => {
      s.pruneRecords.run(before);
      s.pruneIntake.run(before);
      s.pruneDead.run(before);
      s.pruneNotifications.run();
    })();
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async checkWritable(now: number): Promise<void> {
    this.statements.writeCheck.run(String(now));
  }

  async close(): Promise<void> {
    this.flush();
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
