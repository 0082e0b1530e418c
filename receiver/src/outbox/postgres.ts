// The outbox in PostgreSQL (node-postgres and its pool), shared by several receivers: the engine for a
// receiver without a single point of failure. The same OutboxStore as the SQLite one, each write one
// transaction, with what sharing needs on top:
//
// - Claims are leased: a claimed row carries claimed_by (this receiver) and lease_until (the database's
//   clock). The receiver renews the leases of the rows it holds every lease/3; a row whose lease ran
//   out (its receiver died, hung, or lost the database) is taken over by the next claim of another
//   receiver, which sends it again: at most one resend of a row whose outcome was unknown. After it
//   could not reach the database (an outage, a failover: every lease may have run out meanwhile) a
//   receiver takes nothing over for one lease, so that live receivers renew theirs first.
// - Claims of one destination are made one at a time among all receivers (a transaction-scoped
//   advisory lock per channel) and skip rows an operator is changing (FOR UPDATE SKIP LOCKED): at most
//   one row per (channel, group) is in flight anywhere, oldest first.
// - A destination's rate limit is one token bucket in the database (rate_limits), taken from in the
//   claim's transaction and paused there by a Retry-After: two receivers together send no more than
//   the limit allows.
// - Intake: the idempotency state is a row per (channel, group) locked while the notification is
//   written, so that two receivers given the same notification at once store one row per destination.
//   A group new to every destination is written in one statement, committed alone (one round trip).
// - Outcome writes (reschedule, deadLetter, release) change a row only while this receiver holds it;
//   complete deletes a delivered row wherever it is (and writes the group's record only if the row
//   was still there), so a late completion never rolls a group's record back.
//
// The schema (in its own PostgreSQL schema, default license_receiver) is created and migrated at start
// under an advisory lock, or by `license-receiver migrate`.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { RateLimit } from '../channels/channel.js';
import { decideInOrder, type IntakeDecision, type IntakeState } from './idempotency.js';
import type { DeliveryRecord } from './plan.js';
import { type BucketState, TokenBucket } from './rate-limit.js';
import {
  channelHealth,
  clip,
  type EntryData,
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
  setPresent,
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

export interface PostgresSsl {
  /** disable; require (encrypted, server not verified); verify-ca; verify-full (the host name too). */
  mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface PostgresOptions {
  /** postgres://user:password@host:port/database: a secret (never logged: see redactUrl). */
  url: string;
  /** The PostgreSQL schema of the outbox's tables (default license_receiver). */
  schema?: string;
  poolSize?: number;
  /** Each statement's limit on the server (default 5 s); the client gives up 2 s later. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (default 5 s). */
  connectTimeoutMs?: number;
  /** Without it, the URL's sslmode (if any) applies. */
  ssl?: PostgresSsl | undefined;
  /** How long a claim holds without renewal (default 30 s). */
  leaseMs?: number;
  /**
   * `owner` (a receiver, default): migrates the schema (unless `migrate: false`), renews its leases and
   * says it is alive. `beside` (the outbox commands): checks the schema version, changes nothing else.
   */
  role?: 'owner' | 'beside';
  /** Create and migrate the schema at open (default true); false: only check its version. */
  migrate?: boolean;
  log?: StoreLog;
  /** Rows taken over from a receiver whose lease ran out (they are sent again). */
  onTakenOver?: (channel: string, rows: number) => void;
}

export interface StoreLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** 1: the outbox as SQLite's version 3, with leases, receivers and shared rate limits. */
export const PG_SCHEMA_VERSION = 2;
const LOG_CAP = 10_000;
/** Notifications in one intake transaction at most (see enqueue). */
const INTAKE_BATCH_MAX = 200;
export const DEFAULT_SCHEMA = 'license_receiver';

const schemaSql = (s: string) => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.notifications (
  id bigserial PRIMARY KEY,
  received_at bigint NOT NULL,
  receiver text NOT NULL,
  group_id text NOT NULL,
  payload text NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.outbox (
  id bigserial PRIMARY KEY,
  notification_id bigint NOT NULL REFERENCES ${s}.notifications(id),
  channel text NOT NULL,
  group_id text NOT NULL,
  reminder boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  dead_at bigint,
  last_error text,
  retried_at bigint,
  part text,
  claimed_by text,
  lease_until timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_due ON ${s}.outbox (channel, state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_group ON ${s}.outbox (channel, group_id, state, id);
CREATE INDEX IF NOT EXISTS outbox_notification ON ${s}.outbox (notification_id);
CREATE TABLE IF NOT EXISTS ${s}.intake (
  channel text NOT NULL,
  group_id text NOT NULL,
  content_key text NOT NULL,
  accepted_at bigint NOT NULL,
  PRIMARY KEY (channel, group_id)
);
ALTER TABLE ${s}.intake ADD COLUMN IF NOT EXISTS resolved text;
CREATE TABLE IF NOT EXISTS ${s}.deliveries (
  channel text NOT NULL,
  group_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('open', 'closed')),
  ref text NOT NULL,
  firing text NOT NULL,
  opened_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (channel, group_id)
);
CREATE TABLE IF NOT EXISTS ${s}.delivery_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  channel text NOT NULL,
  group_id text NOT NULL,
  row_id bigint NOT NULL,
  outcome text NOT NULL,
  kind text,
  title text,
  error text,
  actor text
);
CREATE INDEX IF NOT EXISTS delivery_log_channel ON ${s}.delivery_log (channel, outcome, at);
CREATE TABLE IF NOT EXISTS ${s}.receivers (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.rate_limits (
  channel text PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at bigint NOT NULL,
  blocked_until bigint NOT NULL
);
`;

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a URL that cannot be parsed)';
  }
}

/** node-postgres returns int8 as a string; every bigint here is a time in ms or an id. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as never,
};

/** The outbox's schema does not fit this receiver (missing, too new, a bad name): waiting will not help. */
export class SchemaError extends Error {}

/**
 * Errors that say the database cannot be reached now (down, restarting, failing over, a broken
 * connection, a timeout), as opposed to an answer such as a constraint or a missing table.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof SchemaError) return false;
  // Not an answer of the server: a refused or broken connection, a timeout of the client.
  if (!(err instanceof pg.DatabaseError)) return true;
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '25006';
}

function sslOptions(ssl: PostgresSsl | undefined): false | ConnectionOptions | undefined {
  if (!ssl) return undefined;
  if (ssl.mode === 'disable') return false;
  const files: ConnectionOptions = {
    ...(ssl.caFile ? { ca: readFileSync(ssl.caFile, 'utf8') } : {}),
    ...(ssl.certFile ? { cert: readFileSync(ssl.certFile, 'utf8') } : {}),
    ...(ssl.keyFile ? { key: readFileSync(ssl.keyFile, 'utf8') } : {}),
  };
  if (ssl.mode === 'require') return { ...files, rejectUnauthorized: false };
  if (ssl.mode === 'verify-ca')
    return { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...files, rejectUnauthorized: true };
}

/** With `ssl` configured, the URL's own TLS parameters would override it: they are dropped. */
function connectionString(url: string, ssl: PostgresSsl | undefined): string {
  if (!ssl) return url;
  try {
    const parsed = new URL(url);
    for (const key of ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert']) parsed.searchParams.delete(key);
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * A client whose statements with parameters are prepared once per connection (named after their
 * text): the server parses and plans each only once, which is most of its work per webhook.
 */
class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg.Client.query has a dozen overloads.
  override query(...args: any[]): any {
    const [text, values, callback] = args;
    if (
      typeof text === 'string' &&
      Array.isArray(values) &&
      (args.length === 2 || typeof callback === 'function')
    ) {
      const name = `lr_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      return super.query({ name, text, values }, callback);
    }
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    return (super.query as (...a: any[]) => any)(...args);
  }
}

function createPool(options: PostgresOptions, max: number): pg.Pool {
  const statementTimeout = options.statementTimeoutMs ?? 5000;
  const ssl = sslOptions(options.ssl);
  const pool = new pg.Pool({
    connectionString: connectionString(options.url, options.ssl),
    max,
    // Connections stay open between bursts: a new one costs a backend and a SCRAM exchange (tens of
    // ms of CPU), which the webhooks waiting for it would pay (pg's default closes them after 10 s idle).
    idleTimeoutMillis: 300_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: statementTimeout,
    // A connection to a server that vanished (a failover without a reset) answers nothing: give up.
    query_timeout: statementTimeout + 2000,
    idle_in_transaction_session_timeout: statementTimeout + 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'license-receiver',
    types: TYPES,
    Client: PreparingClient,
    ...(ssl !== undefined ? { ssl } : {}),
  });
  // An idle connection that breaks (the server restarted) is dropped by the pool; without a listener
  // its error would end the process.
  pool.on('error', () => {});
  return pool;
}

/** A schema name as SQL: checked, so that it can be written into statements. */
/** A schema name used unquoted in SQL: lower-case letters, digits and _ (config checks it too). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function schemaIdentifier(schema: string): string {
  if (!SCHEMA_NAME.test(schema))
    throw new SchemaError(
      `store.postgres.schema: ${JSON.stringify(schema)} is not valid: expected lower-case letters, digits and _`,
    );
  return schema;
}

/**
 * A connection of the pool for some work, released after it (closed when it broke). While it is out of
 * the pool nothing else listens to it: a server going away (a restart, a failover) makes it emit an
 * error that, unheard, would end the process. The work's own query rejects anyway.
 */
async function withClient<T>(
  pool: pg.Pool,
  work: (c: pg.PoolClient) => Promise<T>,
  cleanUp?: (c: pg.PoolClient, err: unknown) => Promise<boolean>,
): Promise<T> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    return await work(client);
  } catch (err) {
    if (isUnavailable(err) || (cleanUp && !(await cleanUp(client, err)))) broken = err as Error;
    throw err;
  } finally {
    client.removeListener('error', ignore);
    client.release(broken);
  }
}

async function inTransaction<T>(
  pool: pg.Pool,
  work: (c: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  return withClient(
    pool,
    async (client) => {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    },
    // One that only saw an error answer is rolled back and reused.
    (client) =>
      client.query('ROLLBACK').then(
        () => true,
        () => false,
      ),
  );
}

async function schemaVersion(client: pg.ClientBase, s: string): Promise<number | undefined> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${s}.meta`]);
  if (!exists.rows[0]?.t) return undefined;
  const row = await client.query<{ value: string }>(
    `SELECT value FROM ${s}.meta WHERE key = 'schema_version'`,
  );
  return row.rows[0] ? Number(row.rows[0].value) : undefined;
}

/**
 * Creates or upgrades the schema, under an advisory lock (receivers starting together wait for one
 * another). Returns the version found before.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number | undefined> {
  const s = schemaIdentifier(schema);
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`license-receiver migrate ${s}`]);
    const before = await schemaVersion(client, s);
    if (before !== undefined && before > PG_SCHEMA_VERSION)
      throw new SchemaError(
        `store schema ${s} has version ${before}, newer than this receiver (${PG_SCHEMA_VERSION}): run the newer receiver`,
      );
    if (before !== PG_SCHEMA_VERSION) {
      await client.query(schemaSql(s));
      await client.query(
        `INSERT INTO ${s}.meta (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(PG_SCHEMA_VERSION)],
      );
    }
    return before;
  });
}

/** `license-receiver migrate`: the schema created or upgraded, then the connection closed. */
export async function migrateStore(options: PostgresOptions): Promise<{ before?: number; after: number }> {
  const pool = createPool(options, 1);
  try {
    const before = await migrate(pool, options.schema ?? DEFAULT_SCHEMA);
    return { ...(before !== undefined ? { before } : {}), after: PG_SCHEMA_VERSION };
  } finally {
    await pool.end();
  }
}

export class PostgresStore implements OutboxStore {
  /** This receiver in the store: host, pid and a random part (a restarted pod is someone new). */
  readonly name = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly s: string;
  private readonly leaseMs: number;
  /** Rows this receiver claimed and has not written an outcome for: their leases are renewed. */
  private readonly held = new Set<number>();
  /** Since when every call reached the database (undefined: the last one could not). */
  private connectedSince: number | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly entryColumns: string;
  /** Intake writes waiting for the next group commit, and whether an intake transaction is under way. */
  private readonly intakeQueue: {
    request: EnqueueRequest;
    resolve: (r: EnqueueResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private intakeRunning = false;
  /** Per channel: until when the shared bucket has no token, as the last claim saw it. */
  private readonly bucketEmptyUntil = new Map<string, number>();
  /** Rates seen by claim, per channel: when an empty shared bucket has its next token (nextDue). */
  private readonly rates = new Map<string, number>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresOptions,
  ) {
    this.s = schemaIdentifier(options.schema ?? DEFAULT_SCHEMA);
    this.leaseMs = options.leaseMs ?? 30_000;
    // A dead row is superseded once its group got a newer delivery (see SqliteStore).
    this.entryColumns = entryColumns(`${this.s}.`);
  }

  /**
   * Connects, migrates (or checks) the schema, and as a receiver starts renewing its leases. Rejects
   * when the database cannot be reached (isUnavailable tells) or the schema does not fit.
   */
  static async open(options: PostgresOptions): Promise<PostgresStore> {
    const owner = (options.role ?? 'owner') === 'owner';
    const pool = createPool(options, owner ? (options.poolSize ?? 10) : 2);
    const store = new PostgresStore(pool, options);
    try {
      if (owner && options.migrate !== false) await migrate(pool, store.s);
      else await store.checkSchema();
      if (owner) {
        await store.sayAlive();
        store.heartbeat = setInterval(() => void store.renew(), Math.max(100, Math.floor(store.leaseMs / 3)));
        store.heartbeat.unref();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    store.connectedSince = Date.now();
    return store;
  }

  private async checkSchema(): Promise<void> {
    const version = await withClient(this.pool, (client) => schemaVersion(client, this.s));
    if (version !== PG_SCHEMA_VERSION)
      throw new SchemaError(
        `the outbox in schema ${this.s} has version ${version ?? 'none'}, this license-receiver reads version ${PG_SCHEMA_VERSION}: ` +
          'run `license-receiver migrate --config FILE` of this version (or start a receiver with store.postgres.migrate on)',
      );
  }

  /** Every call goes through here: it tells whether the database could be reached. */
  private async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('the store is closed');
    try {
      const result = await work();
      this.connectedSince ??= Date.now();
      return result;
    } catch (err) {
      if (isUnavailable(err)) this.connectedSince = undefined;
      throw err;
    }
  }

  private query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.use(() => this.pool.query<R>(sql, params));
  }

  private tx<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.use(() => inTransaction(this.pool, work));
  }

  /** Taking over another receiver's rows: only after one lease of reaching the database ourselves. */
  private mayTakeOver(): boolean {
    return this.connectedSince !== undefined && Date.now() - this.connectedSince >= this.leaseMs;
  }

  private async sayAlive(): Promise<void> {
    await this.query(
      `INSERT INTO ${this.s}.receivers (id, host, pid, started_at, seen_at)
       VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`,
      [this.name, hostname(), process.pid],
    );
  }

  /** Renews the leases of the rows this receiver holds, and says it is alive. */
  private async renew(): Promise<void> {
    try {
      await this.sayAlive();
      if (this.held.size > 0)
        await this.query(
          `UPDATE ${this.s}.outbox SET lease_until = clock_timestamp() + $2 * interval '1 millisecond'
           WHERE id = ANY($1) AND claimed_by = $3 AND state = 'inflight'`,
          [[...this.held], this.leaseMs, this.name],
        );
    } catch (err) {
      this.options.log?.warn(
        { err: (err as Error).message },
        'cannot renew the leases of the rows in delivery; another receiver takes them over if this lasts',
      );
    }
  }

  // ---- intake ---------------------------------------------------------------------------------------

  /**
   * Group commit, as on SQLite: webhooks that arrive while an intake transaction is under way go
   * together in the next one (one commit and a few round trips for all of them). One at a time, so that
   * each notification is decided in arrival order against the ones before it (a duplicate sees its twin).
   */
  enqueue(request: EnqueueRequest): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.intakeQueue.push({ request, resolve, reject });
      this.flushIntake();
    });
  }

  private flushIntake(): void {
    if (this.intakeRunning || this.intakeQueue.length === 0) return;
    const batch = this.intakeQueue.splice(0, INTAKE_BATCH_MAX);
    this.intakeRunning = true;
    this.enqueueBatch(batch.map((b) => b.request))
      .then(
        (results) => {
          for (const [i, b] of batch.entries()) b.resolve(results[i] as EnqueueResult);
        },
        (err: unknown) => {
          for (const b of batch) b.reject(err);
        },
      )
      .finally(() => {
        this.intakeRunning = false;
        this.flushIntake();
      });
  }

  /** Several notifications decided and written in one transaction, in order. */
  private async enqueueBatch(requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    const s = this.s;
    const pairKey = (groupId: string, channel: string) => `${groupId}\n${channel}`;
    const pairs = new Map<string, { groupId: string; channel: string }>();
    for (const r of requests)
      for (const channel of r.destinations)
        pairs.set(pairKey(r.groupId, channel), { groupId: r.groupId, channel });
    return this.tx(async (client) => {
      // The last accepted notification of every (group, destination) the batch touches, locked. Rows
      // are inserted and locked in one order (the database's, by group and channel) by every receiver,
      // so two intakes cannot deadlock. A pair new to the store gets its intake row here (written
      // below: its first notification is always queued); one that another receiver is inserting at
      // this moment is waited for and then read.
      const state = new Map<string, IntakeState | undefined>();
      let waiting = [...pairs.values()];
      while (waiting.length > 0) {
        const params = [waiting.map((p) => p.groupId), waiting.map((p) => p.channel)];
        const inserted = await client.query<{ group_id: string; channel: string }>(
          `INSERT INTO ${s}.intake (group_id, channel, content_key, accepted_at)
           SELECT group_id, channel, '', 0 FROM unnest($1::text[], $2::text[]) AS p(group_id, channel)
           ORDER BY group_id, channel
           ON CONFLICT (channel, group_id) DO NOTHING RETURNING group_id, channel`,
          params,
        );
        for (const row of inserted.rows) state.set(pairKey(row.group_id, row.channel), undefined);
        const known = await client.query<IntakeColumns & { group_id: string; channel: string }>(
          `SELECT i.group_id, i.channel, i.content_key, i.accepted_at, i.resolved
           FROM ${s}.intake i JOIN unnest($1::text[], $2::text[]) AS p(group_id, channel) USING (group_id, channel)
           ORDER BY i.group_id, i.channel FOR UPDATE OF i`,
          params,
        );
        for (const row of known.rows) {
          const key = pairKey(row.group_id, row.channel);
          if (!state.has(key)) state.set(key, intakeState(row));
        }
        // A row pruned between the two statements: insert it again.
        waiting = waiting.filter((p) => !state.has(pairKey(p.groupId, p.channel)));
      }

      const decisions = decideInOrder(requests, (groupId, channel) => state.get(pairKey(groupId, channel)));
      const results = decisions.map(({ outcomes }) => ({ outcomes }));
      // What to write: the notifications that got a row, their rows in arrival order, and each pair's
      // last accepted notification.
      const notifications: EnqueueRequest[] = [];
      const rows: { notification: number; channel: string; reminder: boolean }[] = [];
      const accepted = new Map<string, { groupId: string; channel: string; request: EnqueueRequest }>();
      for (const [i, request] of requests.entries()) {
        const { queued } = decisions[i] as IntakeDecision;
        if (queued.length === 0) continue;
        notifications.push(request);
        for (const { channel, reminder } of queued) {
          rows.push({ notification: notifications.length, channel, reminder });
          accepted.set(pairKey(request.groupId, channel), { groupId: request.groupId, channel, request });
        }
      }
      if (notifications.length === 0) return results;

      // One statement writes it all: the notifications (ids taken in order), their outbox rows in
      // arrival order (a group's rows are delivered by id) and each pair's new intake state.
      const states = [...accepted.values()];
      await client.query(
        `WITH r AS (
           SELECT nextval(pg_get_serial_sequence('${s}.notifications', 'id')) AS id, r.*
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS r(received_at, receiver, group_id, payload, ord)
         ), n AS (
           INSERT INTO ${s}.notifications (id, received_at, receiver, group_id, payload)
           SELECT id, received_at, receiver, group_id, payload FROM r ORDER BY ord
         ), o AS (
           INSERT INTO ${s}.outbox (notification_id, channel, group_id, reminder, created_at, next_attempt_at)
           SELECT r.id, q.channel, r.group_id, q.reminder, r.received_at, r.received_at
           FROM unnest($5::bigint[], $6::text[], $7::boolean[]) WITH ORDINALITY AS q(n, channel, reminder, ord)
           JOIN r ON r.ord = q.n ORDER BY q.ord
         )
         UPDATE ${s}.intake AS i
         SET content_key = v.content_key, accepted_at = v.accepted_at, resolved = v.resolved
         FROM unnest($8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[])
           AS v(group_id, channel, content_key, accepted_at, resolved)
         WHERE i.group_id = v.group_id AND i.channel = v.channel`,
        [
          notifications.map((r) => r.receivedAt),
          notifications.map((r) => r.receiver),
          notifications.map((r) => r.groupId),
          notifications.map((r) => r.payload),
          rows.map((r) => r.notification),
          rows.map((r) => r.channel),
          rows.map((r) => r.reminder),
          states.map((a) => a.groupId),
          states.map((a) => a.channel),
          states.map((a) => a.request.contentKey),
          states.map((a) => a.request.receivedAt),
          states.map((a) => resolvedColumn(a.request.resolved)),
        ],
      );
      return results;
    });
  }

  // ---- delivery ---------------------------------------------------------------------------------------

  async claim(channel: string, limit: number, now: number, rate?: RateLimit): Promise<OutboxRow[]> {
    if (limit <= 0) return [];
    // The shared bucket had no token at the last claim: asking again before its next one would only
    // cost a transaction under the claim lock, and every accepted webhook wakes the delivery loop.
    if (now < (this.bucketEmptyUntil.get(channel) ?? 0)) return [];
    const s = this.s;
    const takeOver = this.mayTakeOver();
    if (rate) this.rates.set(channel, rate.perSecond);
    const { rows, takenOver, emptyUntil } = await this.tx(async (client) => {
      // Claims of one destination one at a time, among all receivers.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [`${s} claim`, channel]);
      let takenOver = 0;
      if (takeOver) {
        const expired = await client.query(
          `UPDATE ${s}.outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL
           WHERE channel = $1 AND state = 'inflight' AND lease_until < clock_timestamp()`,
          [channel],
        );
        takenOver = expired.rowCount ?? 0;
      }
      const bucket =
        rate && Number.isFinite(rate.perSecond) ? await this.bucket(client, channel, rate, now) : undefined;
      const want = bucket ? Math.min(limit, bucket.available(now)) : limit;
      if (want <= 0) return { rows: [] as RowData[], takenOver, emptyUntil: bucket?.nextAt(now) };
      const claimed = await client.query<RowData>(
        `WITH due AS (
           SELECT o.id FROM ${s}.outbox o
           WHERE o.channel = $1 AND o.state = 'pending' AND o.next_attempt_at <= $2
             AND NOT EXISTS (
               SELECT 1 FROM ${s}.outbox p
               WHERE p.channel = o.channel AND p.group_id = o.group_id
                 AND (p.state = 'inflight' OR (p.state = 'pending' AND p.id < o.id)))
           ORDER BY o.id LIMIT $3 FOR UPDATE SKIP LOCKED
         )
         UPDATE ${s}.outbox o SET state = 'inflight', claimed_by = $4,
           lease_until = clock_timestamp() + $5 * interval '1 millisecond'
         FROM due, ${s}.notifications n WHERE o.id = due.id AND n.id = o.notification_id
         RETURNING o.id, o.channel, o.group_id, o.reminder, o.attempts, o.created_at, o.retried_at, n.payload, o.part`,
        [channel, now, want, this.name, this.leaseMs],
      );
      if (bucket) {
        for (let i = 0; i < claimed.rows.length; i++) bucket.take(now);
        await this.saveBucket(client, channel, bucket.state());
      }
      const emptyUntil = bucket && bucket.available(now) < 1 ? bucket.nextAt(now) : undefined;
      return { rows: claimed.rows, takenOver, emptyUntil };
    });
    if (emptyUntil !== undefined) this.bucketEmptyUntil.set(channel, emptyUntil);
    else this.bucketEmptyUntil.delete(channel);
    if (takenOver > 0) {
      this.options.log?.warn(
        { channel, rows: takenOver },
        'rows whose receiver stopped renewing its lease are taken over: they are sent again',
      );
      this.options.onTakenOver?.(channel, takenOver);
    }
    const result = rows.sort((a, b) => a.id - b.id).map(toRow);
    for (const row of result) this.held.add(row.id);
    return result;
  }

  /** The destination's shared bucket, locked for this transaction (a full one the first time). */
  private async bucket(
    client: pg.PoolClient,
    channel: string,
    rate: RateLimit,
    now: number,
  ): Promise<TokenBucket> {
    await client.query(
      `INSERT INTO ${this.s}.rate_limits (channel, tokens, updated_at, blocked_until) VALUES ($1, $2, $3, 0)
       ON CONFLICT (channel) DO NOTHING`,
      [channel, rate.burst, now],
    );
    const row = await client.query<{ tokens: number; updated_at: number; blocked_until: number }>(
      `SELECT tokens, updated_at, blocked_until FROM ${this.s}.rate_limits WHERE channel = $1 FOR UPDATE`,
      [channel],
    );
    const r = row.rows[0] as { tokens: number; updated_at: number; blocked_until: number };
    // A limit lowered in the config since: never more than the burst now allowed.
    return new TokenBucket(rate, now, {
      tokens: Math.min(r.tokens, rate.burst),
      updatedAt: r.updated_at,
      blockedUntil: r.blocked_until,
    });
  }

  private async saveBucket(client: pg.PoolClient, channel: string, state: BucketState): Promise<void> {
    await client.query(
      `UPDATE ${this.s}.rate_limits SET tokens = $2, updated_at = $3, blocked_until = $4 WHERE channel = $1`,
      [channel, state.tokens, state.updatedAt, state.blockedUntil],
    );
  }

  async pause(channel: string, until: number, now: number, rate?: RateLimit): Promise<void> {
    if (!rate || !Number.isFinite(rate.perSecond)) return;
    await this.tx(async (client) => {
      const bucket = await this.bucket(client, channel, rate, now);
      bucket.block(until, now);
      await this.saveBucket(client, channel, bucket.state());
    });
  }

  async nextDue(channel: string): Promise<number | undefined> {
    // The last claim found the shared bucket empty (see claim): look again at its next token (the loop
    // asks right after that claim; a claim at or after that time updates it).
    const emptyUntil = this.bucketEmptyUntil.get(channel);
    if (emptyUntil !== undefined) return emptyUntil;
    const result = await this.query<{
      at: number | null;
      tokens: number | null;
      updated_at: number | null;
      blocked_until: number | null;
    }>(
      `SELECT (SELECT min(next_attempt_at) FROM ${this.s}.outbox WHERE channel = $1 AND state = 'pending') AS at,
         b.tokens, b.updated_at, b.blocked_until
       FROM (SELECT 1) one LEFT JOIN ${this.s}.rate_limits b ON b.channel = $1`,
      [channel],
    );
    const r = result.rows[0];
    if (!r || r.at === null) return undefined;
    if (r.tokens === null || r.updated_at === null) return r.at;
    // When the shared bucket has its next token, from its last state.
    const blocked = r.blocked_until ?? 0;
    const tokenAt = r.tokens >= 1 ? r.updated_at : this.refillAt(channel, r.tokens, r.updated_at);
    return Math.max(r.at, blocked, tokenAt);
  }

  private refillAt(channel: string, tokens: number, updatedAt: number): number {
    const perSecond = this.rates.get(channel);
    if (!perSecond) return updatedAt;
    return updatedAt + Math.ceil(((1 - tokens) / perSecond) * 1000);
  }

  async record(channel: string, groupId: string): Promise<DeliveryRecord | undefined> {
    const result = await this.query<RecordData>(
      `SELECT state, ref, firing, opened_at, updated_at FROM ${this.s}.deliveries WHERE channel = $1 AND group_id = $2`,
      [channel, groupId],
    );
    const row = result.rows[0];
    return row && toRecord(row);
  }

  private putRecord(client: pg.PoolClient, row: OutboxRow, record: DeliveryRecord): Promise<unknown> {
    return client.query(
      `INSERT INTO ${this.s}.deliveries (channel, group_id, state, ref, firing, opened_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (channel, group_id) DO UPDATE SET state = excluded.state, ref = excluded.ref,
         firing = excluded.firing, opened_at = excluded.opened_at, updated_at = excluded.updated_at`,
      recordValues(row, record),
    );
  }

  private log(
    client: pg.PoolClient,
    row: Pick<OutboxRow, 'id' | 'channel' | 'groupId'>,
    outcome: LogOutcome,
    note: LogNote,
    error?: string,
  ): Promise<unknown> {
    return client.query(
      `INSERT INTO ${this.s}.delivery_log (at, channel, group_id, row_id, outcome, kind, title, error, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      logValues(row, outcome, note, error),
    );
  }

  /** Deletes a row, and its notification once no other row needs it. */
  private async deleteRow(client: pg.PoolClient, id: number, notificationId: number): Promise<void> {
    await client.query(`DELETE FROM ${this.s}.outbox WHERE id = $1`, [id]);
    await client.query(
      `DELETE FROM ${this.s}.notifications n WHERE n.id = $1
       AND NOT EXISTS (SELECT 1 FROM ${this.s}.outbox o WHERE o.notification_id = $1)`,
      [notificationId],
    );
  }

  async complete(
    row: OutboxRow,
    record: DeliveryRecord | undefined,
    followUps: readonly FollowUp[] = [],
    note?: DeliveryNote,
  ): Promise<void> {
    const s = this.s;
    await this.tx(async (client) => {
      const found = await client.query<{ notification_id: number }>(
        `SELECT notification_id FROM ${s}.outbox WHERE id = $1 FOR UPDATE`,
        [row.id],
      );
      const owner = found.rows[0];
      // Gone: completed before (a repeat after an ambiguous failure, or by the receiver that took it
      // over). Its record is not written: a newer delivery of the group may have written one since.
      if (!owner) return;
      if (record) await this.putRecord(client, row, record);
      for (const f of followUps) {
        const groupId = `${row.groupId}/${f.target}`;
        const dead = f.deadError !== undefined;
        const inserted = await client.query<{ id: number }>(
          `INSERT INTO ${s}.outbox (notification_id, channel, group_id, state, created_at, next_attempt_at, dead_at, last_error, part)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
          [
            owner.notification_id,
            row.channel,
            groupId,
            dead ? 'dead' : 'pending',
            row.createdAt,
            f.at,
            dead ? f.at : null,
            dead ? clip(f.deadError as string) : null,
            JSON.stringify({ target: f.target, data: f.data }),
          ],
        );
        if (dead && note)
          await this.log(
            client,
            { id: (inserted.rows[0] as { id: number }).id, channel: row.channel, groupId },
            'dead',
            { ...note, at: f.at },
            f.deadError,
          );
      }
      await this.deleteRow(client, row.id, owner.notification_id);
      if (note) await this.log(client, row, note.skipped ? 'skipped' : 'sent', note);
    });
    this.held.delete(row.id);
  }

  /** An outcome for a row this receiver still holds (in flight, claimed by it); false when it does not. */
  private async settleHeld(
    client: pg.PoolClient,
    row: OutboxRow,
    set: string,
    params: unknown[],
  ): Promise<boolean> {
    const changed = await client.query(
      `UPDATE ${this.s}.outbox SET ${set}, claimed_by = NULL, lease_until = NULL
       WHERE id = $1 AND state = 'inflight' AND claimed_by = $2`,
      [row.id, this.name, ...params],
    );
    return (changed.rowCount ?? 0) > 0;
  }

  async reschedule(
    row: OutboxRow,
    nextAttemptAt: number,
    error: string,
    record?: DeliveryRecord,
    note?: DeliveryNote,
  ): Promise<void> {
    await this.tx(async (client) => {
      const changed = await this.settleHeld(
        client,
        row,
        "state = 'pending', attempts = attempts + 1, next_attempt_at = $3, last_error = $4",
        [nextAttemptAt, clip(error)],
      );
      if (!changed) return;
      if (record) await this.putRecord(client, row, record);
      if (note) await this.log(client, row, 'retry', note, error);
    });
    this.held.delete(row.id);
  }

  async deadLetter(row: OutboxRow, error: string, now: number, note?: DeliveryNote): Promise<void> {
    await this.tx(async (client) => {
      const changed = await this.settleHeld(
        client,
        row,
        "state = 'dead', attempts = attempts + 1, dead_at = $3, last_error = $4",
        [now, clip(error)],
      );
      if (changed && note) await this.log(client, row, 'dead', note, error);
    });
    this.held.delete(row.id);
  }

  async release(row: OutboxRow, nextAttemptAt: number, reason: string): Promise<void> {
    await this.tx((client) =>
      this.settleHeld(client, row, "state = 'pending', next_attempt_at = $3, last_error = $4", [
        nextAttemptAt,
        clip(reason),
      ]),
    );
    this.held.delete(row.id);
  }

  /**
   * Nothing to do at start: this receiver is new (its name is), and rows left in flight by one that
   * stopped are taken over by the claims once their lease has run out — never a live receiver's.
   */
  async recover(): Promise<number> {
    return 0;
  }

  // ---- what an operator sees ------------------------------------------------------------------------

  async stats(): Promise<OutboxStats[]> {
    return this.statsWith((sql, params) => this.query(sql, params));
  }

  private async statsWith(
    run: (sql: string, params: unknown[]) => Promise<pg.QueryResult<pg.QueryResultRow>>,
  ): Promise<OutboxStats[]> {
    const result = await run(
      `SELECT channel,
         count(*) FILTER (WHERE state = 'pending')::int AS pending,
         count(*) FILTER (WHERE state = 'inflight')::int AS inflight,
         count(*) FILTER (WHERE state = 'dead')::int AS dead,
         min(created_at) FILTER (WHERE state <> 'dead') AS oldest
       FROM ${this.s}.outbox GROUP BY channel ORDER BY channel`,
      [],
    );
    return (
      result.rows as {
        channel: string;
        pending: number;
        inflight: number;
        dead: number;
        oldest: number | null;
      }[]
    ).map((r) =>
      setPresent<OutboxStats>(
        { channel: r.channel, pending: r.pending, inflight: r.inflight, dead: r.dead },
        { oldestCreatedAt: r.oldest },
      ),
    );
  }

  async dead(limit = 100): Promise<DeadRow[]> {
    return (await this.list({ states: ['dead'], limit })).map(toDeadRow);
  }

  async list(query: ListQuery = {}): Promise<OutboxEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.states && query.states.length > 0) {
      params.push(query.states);
      where.push(`o.state = ANY($${params.length})`);
    }
    if (query.channel !== undefined) {
      params.push(query.channel);
      where.push(`o.channel = $${params.length}`);
    }
    params.push(query.limit ?? 1000);
    const result = await this.query<EntryData>(
      `SELECT ${this.entryColumns} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY o.id DESC LIMIT $${params.length}`,
      params,
    );
    return result.rows.map(toEntry);
  }

  async get(id: number): Promise<OutboxEntry | undefined> {
    const result = await this.query<EntryData>(`SELECT ${this.entryColumns} WHERE o.id = $1`, [id]);
    const row = result.rows[0];
    return row && toEntry(row);
  }

  /** An operator's action on one row, locked while it is changed: never on a row gone or being delivered. */
  private act(
    id: number,
    change: (client: pg.PoolClient, row: EntryData & { notification_id: number }) => Promise<ActionResult>,
  ): Promise<ActionResult> {
    return this.tx(async (client) => {
      const found = await client.query<EntryData & { notification_id: number }>(
        `SELECT ${this.entryColumns.replace('o.id,', 'o.id, o.notification_id,')} WHERE o.id = $1 FOR UPDATE OF o`,
        [id],
      );
      const row = found.rows[0];
      if (!row) return { id, outcome: 'not-found' };
      if (row.state === 'inflight') return { id, outcome: 'in-flight' };
      return change(client, row);
    });
  }

  async requeue(id: number, note: ActionNote): Promise<ActionResult> {
    return this.act(id, async (client, row) => {
      if (row.state !== 'dead') return { id, outcome: 'not-dead' };
      if (row.superseded_at !== null) return { id, outcome: 'superseded', supersededAt: row.superseded_at };
      await client.query(
        `UPDATE ${this.s}.outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, retried_at = $2,
           dead_at = NULL WHERE id = $1 AND state = 'dead'`,
        [id, note.at],
      );
      await this.log(client, toRow(row), 'requeued', note);
      return { id, outcome: 'requeued' };
    });
  }

  async discard(id: number, note: ActionNote): Promise<ActionResult> {
    return this.act(id, async (client, row) => {
      await this.deleteRow(client, id, row.notification_id);
      await this.log(client, toRow(row), 'discarded', note, row.last_error ?? undefined);
      return { id, outcome: 'discarded' };
    });
  }

  async recent(limit = 50): Promise<DeliveryLogEntry[]> {
    const result = await this.query<LogData>(
      `SELECT id, at, channel, group_id, row_id, outcome, kind, title, error, actor AS "by" FROM ${this.s}.delivery_log ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return result.rows.map(toLogEntry);
  }

  async health(): Promise<ChannelHealth[]> {
    // One snapshot for the three reads.
    return this.use(() =>
      inTransaction(
        this.pool,
        async (client) => {
          const stats = await this.statsWith((sql, params) => client.query(sql, params));
          const success = await client.query<{ channel: string; at: number }>(
            `SELECT channel, max(at) AS at FROM ${this.s}.delivery_log WHERE outcome = 'sent' GROUP BY channel`,
          );
          const errors = await client.query<{ channel: string; at: number; error: string | null }>(
            `SELECT DISTINCT ON (channel) channel, at, error FROM ${this.s}.delivery_log
             WHERE outcome IN ('retry', 'dead') ORDER BY channel, id DESC`,
          );
          return channelHealth(stats, success.rows, errors.rows);
        },
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      ),
    );
  }

  async prune(before: number): Promise<void> {
    const s = this.s;
    await this.tx(async (client) => {
      await client.query(`DELETE FROM ${s}.deliveries WHERE state = 'closed' AND updated_at < $1`, [before]);
      await client.query(`DELETE FROM ${s}.intake WHERE accepted_at < $1`, [before]);
      await client.query(`DELETE FROM ${s}.outbox WHERE state = 'dead' AND dead_at < $1`, [before]);
      await client.query(
        `DELETE FROM ${s}.notifications n WHERE NOT EXISTS (SELECT 1 FROM ${s}.outbox o WHERE o.notification_id = n.id)`,
      );
      await client.query(
        `DELETE FROM ${s}.delivery_log WHERE at < $1 OR id <= (SELECT max(id) FROM ${s}.delivery_log) - $2`,
        [before, LOG_CAP],
      );
      // Receivers not seen for a day: gone.
      await client.query(`DELETE FROM ${s}.receivers WHERE seen_at < clock_timestamp() - interval '1 day'`);
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** A committed write (this receiver's heartbeat): fails when the database cannot take one now. */
  async checkWritable(): Promise<void> {
    if ((this.options.role ?? 'owner') === 'owner') await this.sayAlive();
    else await this.query(`UPDATE ${this.s}.meta SET value = value WHERE key = 'schema_version'`);
  }

  /** Receivers that said they were alive within one lease (the outbox commands ask). */
  async liveReceivers(): Promise<string[]> {
    const result = await this.query<{ id: string }>(
      `SELECT id FROM ${this.s}.receivers WHERE seen_at > clock_timestamp() - $1 * interval '1 millisecond' ORDER BY id`,
      [this.leaseMs],
    );
    return result.rows.map((r) => r.id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.heartbeat);
    if ((this.options.role ?? 'owner') === 'owner')
      await this.query(`DELETE FROM ${this.s}.receivers WHERE id = $1`, [this.name]).catch(() => {});
    this.closed = true;
    await this.pool.end();
  }
}
