// A store whose writes fail on demand, around the real SQLite store: what a full disk or an I/O error
// looks like to the receiver (reads still work, every write throws SQLite's own message).
import type { SqliteOptions } from '../../src/outbox/sqlite.js';
import type { OutboxStore } from '../../src/outbox/store.js';
import { ThreadedSqliteStore } from '../../src/outbox/threaded.js';

/** The store methods that write. Any method not named here is a read and keeps working. */
const WRITES = new Set([
  'enqueue',
  'claim',
  'complete',
  'reschedule',
  'deadLetter',
  'release',
  'recover',
  'prune',
  'checkWritable',
  'requeue',
  'discard',
]);

export const DISK_FULL = 'SQLITE_FULL: database or disk is full';
export const IO_ERROR = 'SQLITE_IOERR: disk I/O error';

export class FailingStore {
  /** Methods failing now, with the error they throw. */
  private readonly failing = new Map<string, string>();
  /** Calls that failed, by method. */
  readonly failures = new Map<string, number>();
  inner: OutboxStore | undefined;

  /** For startReceiver's `openStore`: the real store thread, wrapped. */
  readonly open = async (options: SqliteOptions): Promise<OutboxStore> => {
    this.inner = await ThreadedSqliteStore.open(options);
    return this.wrap(this.inner);
  };

  /** Makes these write methods (default: every one) throw `message` until heal(). */
  failWrites(message = DISK_FULL, methods: readonly string[] = [...WRITES]): void {
    for (const m of methods) {
      if (!WRITES.has(m)) throw new Error(`${m} is not a write method of the store`);
      this.failing.set(m, message);
    }
  }

  heal(): void {
    this.failing.clear();
  }

  private wrap(inner: OutboxStore): OutboxStore {
    return new Proxy(inner, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        if (typeof name !== 'string' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const message = this.failing.get(name);
          if (message !== undefined) {
            this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
            return Promise.reject(new Error(message));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
}
