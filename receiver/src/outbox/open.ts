// Opens the outbox the config names: the SQLite file (on its own thread) or PostgreSQL. One place for
// the receiver, `migrate` and the outbox commands.
import type { Logger } from 'pino';
import type { PostgresStoreConfig, StoreConfig } from '../config.js';
import {
  isUnavailable,
  migrateStore,
  PG_SCHEMA_VERSION,
  type PostgresOptions,
  PostgresStore,
  redactUrl,
} from './postgres.js';
import { receiverRunning, type SqliteOptions, SqliteStore } from './sqlite.js';
import type { OutboxStore } from './store.js';
import { ThreadedSqliteStore } from './threaded.js';

/** What the logs say the store is: the file, or the database URL without its password. */
export function describeStore(store: StoreConfig): string {
  if (store.kind === 'sqlite') return store.path;
  return `${store.url === undefined ? 'PostgreSQL' : redactUrl(store.url)} (schema ${store.schema})`;
}

export function postgresOptions(store: PostgresStoreConfig): PostgresOptions {
  if (store.url === undefined) throw new Error('store.postgres.url was not read');
  return {
    url: store.url,
    schema: store.schema,
    poolSize: store.poolSize,
    statementTimeoutMs: store.statementTimeoutMs,
    connectTimeoutMs: store.connectTimeoutMs,
    leaseMs: store.leaseMs,
    migrate: store.migrate,
    ssl: store.ssl,
  };
}

export interface OpenHooks {
  /** Opens the SQLite store instead of its thread (tests wrap it to inject faults). */
  openSqlite?: (options: SqliteOptions) => Promise<OutboxStore>;
  /** Rows taken over from a receiver whose lease ran out (PostgreSQL). */
  onTakenOver?: (channel: string, rows: number) => void;
  /** Resolves early to give up waiting for PostgreSQL (the process is asked to stop). */
  stopped?: Promise<unknown>;
}

/**
 * The receiver's store. PostgreSQL not reachable yet (starting, failing over) is waited for, saying so
 * every attempt; anything else (a wrong password, a schema too new) fails at once.
 */
export async function openReceiverStore(
  store: StoreConfig,
  logger: Logger,
  hooks: OpenHooks = {},
): Promise<OutboxStore> {
  if (store.kind === 'sqlite')
    return (hooks.openSqlite ?? ThreadedSqliteStore.open)({
      path: store.path,
      synchronous: store.synchronous,
    });
  const options: PostgresOptions = {
    ...postgresOptions(store),
    log: logger,
    ...(hooks.onTakenOver ? { onTakenOver: hooks.onTakenOver } : {}),
  };
  let stopped = false;
  void hooks.stopped?.then(() => {
    stopped = true;
  });
  for (let attempt = 1; ; attempt++) {
    try {
      return await PostgresStore.open(options);
    } catch (err) {
      if (!isUnavailable(err) || stopped) throw err;
      const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      logger.warn(
        { store: describeStore(store), err: (err as Error).message, attempt, retry_in_ms: waitMs },
        'cannot reach PostgreSQL yet: waiting for it before serving',
      );
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** The store as the outbox commands open it, beside running receivers, and whether any runs. */
export interface BesideStore {
  store: OutboxStore;
  /** Whether a receiver is running on this store now. */
  receiverRunning(): Promise<boolean>;
}

export async function openBesideStore(store: StoreConfig): Promise<BesideStore> {
  if (store.kind === 'sqlite') {
    const sqlite = new SqliteStore({
      path: store.path,
      synchronous: store.synchronous,
      role: 'beside',
      busyTimeoutMs: 5000,
    });
    return { store: sqlite, receiverRunning: async () => receiverRunning(store.path) };
  }
  let pg: PostgresStore;
  try {
    pg = await PostgresStore.open({ ...postgresOptions(store), role: 'beside' });
  } catch (err) {
    throw new Error(
      `cannot open the outbox in PostgreSQL ${describeStore(store)}: ${(err as Error).message}`,
    );
  }
  return { store: pg, receiverRunning: async () => (await pg.liveReceivers()).length > 0 };
}

/**
 * `license-receiver migrate`: creates or upgrades the schema. For PostgreSQL under the same advisory
 * lock as a receiver's start; for SQLite by opening the file as its receiver (which needs none to run).
 */
export async function migrateConfiguredStore(store: StoreConfig): Promise<string> {
  if (store.kind === 'sqlite') {
    await new SqliteStore({ path: store.path, synchronous: store.synchronous }).close();
    return 'the SQLite outbox is at the current schema';
  }
  const { before } = await migrateStore(postgresOptions(store));
  if (before === PG_SCHEMA_VERSION) return `schema version ${PG_SCHEMA_VERSION}, nothing to do`;
  return before === undefined
    ? `schema version ${PG_SCHEMA_VERSION} created`
    : `schema upgraded from version ${before} to ${PG_SCHEMA_VERSION}`;
}
