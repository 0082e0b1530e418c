// The outbox in one SQLite file (better-sqlite3, WAL). One receiver process per file: the receiver holds
// an exclusive lock on `<file>.lock` for as long as it runs, so a second receiver fails at start instead
// of delivering twice. The database itself is shared (WAL, normal locking): the `outbox` commands of
// the CLI read and change it beside the running receiver, each write one short transaction that
// checks the row's state, and the receiver waits up to busy_timeout for such a write.
// Writes commit with synchronous=FULL by default, so an answered webhook survives a power loss too
// (with NORMAL it survives a process crash, not a power loss).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decideInOrder, type IntakeDecision } from './idempotency.js';
import type { DeliveryRecord } from './plan.js';
import {
  channelHealth,
  type EntryData,
  ERROR_MAX,
  entryColumns,
  type IntakeColumns,
  intakeState,
  type LogData,
  type LogNote,
  logValues,
  type RecordData,
  type RowData,
  recordValues,
  resolvedColumn,
  toDeadRow,
  toEntry,
  toLogEntry,
  toRecord,
  toRow,
} from './rows.js';
import type {
  ActionNote,
  ActionResult,
  ChannelHealth,
  DeadRow,
  DeliveryLogEntry,
  DeliveryNote,
  EnqueueRequest,
  EnqueueResult,
  FollowUp,
  ListQuery,
  LogOutcome,
  OutboxEntry,
  OutboxRow,
  OutboxStats,
  OutboxStore,
} from './store.js';

export interface SqliteOptions {
  path: string;
  synchronous?: 'full' | 'normal';
  /** How long to wait for a lock held by another process before failing (default 2 s). */
  busyTimeoutMs?: number;
  /**
   * `owner` (the receiver, default): creates and migrates the database and holds the owner lock.
   * `beside`: opens an existing database next to a running receiver (the CLI): no lock, no schema change.
   */
  role?: 'owner' | 'beside';
}

// 2: outbox.part (follow-up rows of a partial delivery); 3: outbox.retried_at and the delivery log.
const SCHEMA_VERSION = 4;
/** Lines of the delivery log kept at most, whatever their age. */
const LOG_CAP = 10_000;

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
  retried_at INTEGER,
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
  resolved TEXT,
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
CREATE TABLE IF NOT EXISTS delivery_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  group_id TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  kind TEXT,
  title TEXT,
  error TEXT,
  by TEXT
);
CREATE INDEX IF NOT EXISTS delivery_log_channel ON delivery_log (channel, outcome, at);
`;

/** From any earlier version: the columns added since (the new tables are created by SCHEMA). */
function migrate(db: Database.Database): void {
  for (const [table, name, type] of [
    ['outbox', 'part', 'TEXT'],
    ['outbox', 'retried_at', 'INTEGER'],
    ['intake', 'resolved', 'TEXT'],
  ] as const) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  }
}

function prepare(db: Database.Database) {
  return {
    insertNotification: db.prepare(
      'INSERT INTO notifications (received_at, receiver, group_id, payload) VALUES (?, ?, ?, ?)',
    ),
    getIntake: db.prepare(
      'SELECT content_key, accepted_at, resolved FROM intake WHERE channel = ? AND group_id = ?',
    ),
    putIntake: db.prepare(
      'INSERT INTO intake (channel, group_id, content_key, accepted_at, resolved) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (channel, group_id) DO UPDATE SET content_key = excluded.content_key, ' +
        'accepted_at = excluded.accepted_at, resolved = excluded.resolved',
    ),
    insertRow: db.prepare(
      'INSERT INTO outbox (notification_id, channel, group_id, reminder, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    // The oldest pending row of each group that has nothing in flight and nothing older pending.
    due: db.prepare(`
      SELECT o.id, o.channel, o.group_id, o.reminder, o.attempts, o.created_at, o.retried_at, n.payload, o.part
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
    entry: db.prepare(`SELECT ${entryColumns()} WHERE o.id = ?`),
    requeue: db.prepare(
      "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, retried_at = ?, dead_at = NULL WHERE id = ? AND state = 'dead'",
    ),
    log: db.prepare(
      'INSERT INTO delivery_log (at, channel, group_id, row_id, outcome, kind, title, error, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    recent: db.prepare('SELECT * FROM delivery_log ORDER BY id DESC LIMIT ?'),
    lastSuccess: db.prepare(
      "SELECT channel, MAX(at) AS at FROM delivery_log WHERE outcome = 'sent' GROUP BY channel",
    ),
    lastError: db.prepare(`
      SELECT l.channel, l.at, l.error FROM delivery_log l JOIN (
        SELECT MAX(id) AS id FROM delivery_log WHERE outcome IN ('retry', 'dead') GROUP BY channel
      ) m ON m.id = l.id`),
    pruneLog: db.prepare(
      'DELETE FROM delivery_log WHERE at < ? OR id <= (SELECT MAX(id) FROM delivery_log) - ?',
    ),
    ping: db.prepare('SELECT 1'),
  };
}

/**
 * The receiver's lock: `<path>.lock`, a small SQLite file written once in exclusive locking mode, so
 * its lock is held until the connection closes or the process ends (the system drops it then, even
 * after SIGKILL). Returns the connection that holds it.
 */
function takeOwnerLock(path: string, timeoutMs: number): Database.Database {
  const lock = new Database(`${path}.lock`, { timeout: timeoutMs });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    lock.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL)');
    lock.exec('DELETE FROM owner');
    lock.prepare('INSERT INTO owner (pid) VALUES (?)').run(process.pid);
    lock.exec('COMMIT');
    return lock;
  } catch (err) {
    lock.close();
    throw new Error(
      `another license-receiver uses this store (${path}.lock is locked: ${(err as Error).message})`,
    );
  }
}

/** Whether a receiver holds the store at `path` now (its lock file is locked). */
export function receiverRunning(path: string): boolean {
  if (path === ':memory:' || !existsSync(`${path}.lock`)) return false;
  try {
    takeOwnerLock(path, 0).close();
    return false;
  } catch {
    return true;
  }
}

function schemaVersion(db: Database.Database): number | undefined {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return undefined;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
    | { value: string }
    | undefined;
  return row ? Number(row.value) : undefined;
}

function createSchema(db: Database.Database): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = schemaVersion(db);
    if (version !== undefined && version > SCHEMA_VERSION)
      throw new Error(`store schema version ${version} is newer than this receiver (${SCHEMA_VERSION})`);
    db.exec(SCHEMA);
    migrate(db);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(
      String(SCHEMA_VERSION),
    );
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** Beside a receiver: the schema must be the one this program reads; it is never changed from here. */
function checkSchema(db: Database.Database): void {
  const version = schemaVersion(db);
  if (version !== SCHEMA_VERSION)
    throw new Error(
      `the outbox has schema version ${version ?? 'none'}, this license-receiver reads version ${SCHEMA_VERSION}: ` +
        'run the outbox commands of the same version as the receiver (start the new receiver once to upgrade the store)',
    );
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

  /** The owner's lock on `<path>.lock` (none for `beside` and for `:memory:`). */
  private readonly lock: Database.Database | undefined;

  constructor(options: SqliteOptions) {
    const timeout = options.busyTimeoutMs ?? 2000;
    const owner = (options.role ?? 'owner') === 'owner';
    const memory = options.path === ':memory:';
    if (owner && !memory) {
      mkdirSync(dirname(options.path), { recursive: true });
      this.lock = takeOwnerLock(options.path, timeout);
    }
    if (!owner && (memory || !existsSync(options.path)))
      throw new Error(`no outbox at ${options.path}: the receiver creates it when it first starts`);
    let db: Database.Database | undefined;
    try {
      db = new Database(options.path, { timeout, fileMustExist: !owner });
      if (owner) db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      if (owner) createSchema(db);
      else checkSchema(db);
    } catch (err) {
      db?.close();
      this.lock?.close();
      throw err;
    }
    this.db = db;
    this.statements = prepare(db);
    const s = this.statements;

    const enqueueAll = (requests: EnqueueRequest[]): EnqueueResult[] => {
      const decisions = decideInOrder(requests, (groupId, channel) => {
        const row = s.getIntake.get(channel, groupId) as IntakeColumns | undefined;
        return row && intakeState(row);
      });
      for (const [i, request] of requests.entries()) {
        const { queued } = decisions[i] as IntakeDecision;
        if (queued.length === 0) continue;
        const at = request.receivedAt;
        const notificationId = s.insertNotification.run(
          at,
          request.receiver,
          request.groupId,
          request.payload,
        ).lastInsertRowid;
        for (const { channel, reminder } of queued) {
          s.putIntake.run(channel, request.groupId, request.contentKey, at, resolvedColumn(request.resolved));
          s.insertRow.run(notificationId, channel, request.groupId, reminder ? 1 : 0, at, at);
        }
      }
      return decisions.map(({ outcomes }) => ({ outcomes }));
    };
    // IMMEDIATE: a transaction that reads before it writes takes the write lock first, so that a
    // write of the CLI in between makes it wait (busy_timeout) instead of failing.
    this.enqueueTx = db.transaction(enqueueAll).immediate;

    this.claimTx = db.transaction((channel: string, limit: number, now: number): OutboxRow[] => {
      const rows = s.due.all(channel, now, limit) as RowData[];
      for (const row of rows) s.markInflight.run(row.id);
      return rows.map(toRow);
    }).immediate;
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

  /** One receiver per file: its delivery loop's own bucket waits. */
  async pause(): Promise<void> {}

  async record(channel: string, groupId: string): Promise<DeliveryRecord | undefined> {
    const row = this.statements.getRecord.get(channel, groupId) as RecordData | undefined;
    return row && toRecord(row);
  }

  private putRecord(row: OutboxRow, record: DeliveryRecord): void {
    this.statements.putRecord.run(...recordValues(row, record));
  }

  /** One line of the delivery log (inside the caller's transaction). */
  private log(
    row: Pick<OutboxRow, 'id' | 'channel' | 'groupId'>,
    outcome: LogOutcome,
    note: LogNote,
    error?: string,
  ): void {
    this.statements.log.run(...logValues(row, outcome, note, error));
  }

  /** Deletes a row, and its notification once no other row needs it (inside the caller's transaction). */
  private deleteRow(id: number): void {
    const s = this.statements;
    const owner = s.notificationOf.get(id) as { id: number } | undefined;
    s.deleteRow.run(id);
    if (owner) s.deleteUnused.run(owner.id, owner.id);
  }

  async complete(
    row: OutboxRow,
    record: DeliveryRecord | undefined,
    followUps: readonly FollowUp[] = [],
    note?: DeliveryNote,
  ): Promise<void> {
    const s = this.statements;
    this.db
      .transaction(() => {
        if (record) this.putRecord(row, record);
        const owner = s.notificationOf.get(row.id) as { id: number } | undefined;
        // No row: completed before (a repeat after an ambiguous failure); nothing more to write.
        if (!owner) return;
        for (const f of followUps) {
          const groupId = `${row.groupId}/${f.target}`;
          const id = s.insertFollowUp.run(
            owner.id,
            row.channel,
            groupId,
            f.deadError === undefined ? 'pending' : 'dead',
            row.createdAt,
            f.at,
            f.deadError === undefined ? null : f.at,
            f.deadError?.slice(0, ERROR_MAX) ?? null,
            JSON.stringify({ target: f.target, data: f.data }),
          ).lastInsertRowid;
          if (f.deadError !== undefined && note)
            this.log(
              { id: Number(id), channel: row.channel, groupId },
              'dead',
              { ...note, at: f.at },
              f.deadError,
            );
        }
        this.deleteRow(row.id);
        if (note) this.log(row, note.skipped ? 'skipped' : 'sent', note);
      })
      .immediate();
  }

  async reschedule(
    row: OutboxRow,
    nextAttemptAt: number,
    error: string,
    record?: DeliveryRecord,
    note?: DeliveryNote,
  ): Promise<void> {
    this.db
      .transaction(() => {
        if (record) this.putRecord(row, record);
        const changed = this.statements.reschedule.run(
          nextAttemptAt,
          error.slice(0, ERROR_MAX),
          row.id,
        ).changes;
        if (note && changed > 0) this.log(row, 'retry', note, error);
      })
      .immediate();
  }

  async deadLetter(row: OutboxRow, error: string, now: number, note?: DeliveryNote): Promise<void> {
    this.db
      .transaction(() => {
        const changed = this.statements.deadLetter.run(now, error.slice(0, ERROR_MAX), row.id).changes;
        if (note && changed > 0) this.log(row, 'dead', note, error);
      })
      .immediate();
  }

  async release(row: OutboxRow, nextAttemptAt: number, reason: string): Promise<void> {
    this.statements.release.run(nextAttemptAt, reason.slice(0, ERROR_MAX), row.id);
  }

  async recover(): Promise<number> {
    return this.statements.recover.run().changes;
  }

  async stats(): Promise<OutboxStats[]> {
    return this.statsNow();
  }

  private statsNow(): OutboxStats[] {
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
    return (await this.list({ states: ['dead'], limit })).map(toDeadRow);
  }

  async list(query: ListQuery = {}): Promise<OutboxEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.states && query.states.length > 0) {
      where.push(`o.state IN (${query.states.map(() => '?').join(', ')})`);
      args.push(...query.states);
    }
    if (query.channel !== undefined) {
      where.push('o.channel = ?');
      args.push(query.channel);
    }
    const sql = `SELECT ${entryColumns()} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 1000) as EntryData[];
    return rows.map(toEntry);
  }

  async get(id: number): Promise<OutboxEntry | undefined> {
    const row = this.statements.entry.get(id) as EntryData | undefined;
    return row && toEntry(row);
  }

  /** An operator's action on one row, in one transaction: never on a row gone or being delivered. */
  private act(id: number, change: (row: EntryData) => ActionResult): ActionResult {
    return this.db
      .transaction((): ActionResult => {
        const row = this.statements.entry.get(id) as EntryData | undefined;
        if (!row) return { id, outcome: 'not-found' };
        if (row.state === 'inflight') return { id, outcome: 'in-flight' };
        return change(row);
      })
      .immediate();
  }

  async requeue(id: number, note: ActionNote): Promise<ActionResult> {
    return this.act(id, (row) => {
      if (row.state !== 'dead') return { id, outcome: 'not-dead' };
      if (row.superseded_at !== null) return { id, outcome: 'superseded', supersededAt: row.superseded_at };
      this.statements.requeue.run(note.at, note.at, id);
      this.log(toRow(row), 'requeued', note);
      return { id, outcome: 'requeued' };
    });
  }

  async discard(id: number, note: ActionNote): Promise<ActionResult> {
    return this.act(id, (row) => {
      this.deleteRow(id);
      this.log(toRow(row), 'discarded', note, row.last_error ?? undefined);
      return { id, outcome: 'discarded' };
    });
  }

  async recent(limit = 50): Promise<DeliveryLogEntry[]> {
    return (this.statements.recent.all(limit) as LogData[]).map(toLogEntry);
  }

  async health(): Promise<ChannelHealth[]> {
    const s = this.statements;
    // One snapshot for the three reads.
    return this.db
      .transaction(() =>
        channelHealth(
          this.statsNow(),
          s.lastSuccess.all() as { channel: string; at: number }[],
          s.lastError.all() as { channel: string; at: number; error: string | null }[],
        ),
      )
      .deferred();
  }

  async prune(before: number): Promise<void> {
    const s = this.statements;
    this.db
      .transaction(() => {
        s.pruneRecords.run(before);
        s.pruneIntake.run(before);
        s.pruneDead.run(before);
        s.pruneNotifications.run();
        s.pruneLog.run(before, LOG_CAP);
      })
      .immediate();
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
      if (this.lock) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
      this.lock?.close();
    }
  }
}
