// The SQLite store behind a worker thread: the same OutboxStore, every call a message to the thread
// that owns the database. Webhooks arriving together still share one commit (see SqliteStore.enqueue).
import { Worker } from 'node:worker_threads';
import type { DeliveryRecord } from './plan.js';
import type { SqliteOptions } from './sqlite.js';
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
  OutboxEntry,
  OutboxRow,
  OutboxStats,
  OutboxStore,
} from './store.js';

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

/** Starts the thread that owns the database; `workerData` is the store's options. */
export type WorkerStarter = (options: SqliteOptions) => Worker;

const startCompiled: WorkerStarter = (options) =>
  new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: options });

let startWorker: WorkerStarter = startCompiled;

/**
 * Replaces how the store thread is started: tests that run this module from its TypeScript source
 * start the TypeScript worker their own way (see receiver/test/setup.ts).
 */
export function setWorkerStarter(starter: WorkerStarter): void {
  startWorker = starter;
}

export class ThreadedSqliteStore implements OutboxStore {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  /** Intake writes of this event-loop turn, sent to the store thread as one message. */
  private batch: {
    request: EnqueueRequest;
    resolve: (r: EnqueueResult) => void;
    reject: (e: Error) => void;
  }[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) call.reject(new Error(message.error));
      else call.resolve(message.result);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the store thread exited (code ${code})`)));
  }

  /** Opens the database on a new thread; rejects when it cannot (e.g. another process holds it). */
  static async open(options: SqliteOptions): Promise<ThreadedSqliteStore> {
    const worker = startWorker(options);
    const ready = await new Promise<{ ready: boolean; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw new Error(`cannot open the store ${options.path}: ${ready.error}`);
    }
    return new ThreadedSqliteStore(worker);
  }

  private call<T>(method: keyof OutboxStore | 'enqueueBatch', ...args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  enqueue(request: EnqueueRequest): Promise<EnqueueResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.batch.length === 0) setImmediate(() => this.sendBatch());
      this.batch.push({ request, resolve, reject });
    });
  }

  private sendBatch(): void {
    const batch = this.batch;
    this.batch = [];
    this.call<EnqueueResult[]>(
      'enqueueBatch',
      batch.map((b) => b.request),
    ).then(
      (results) => {
        for (const [i, b] of batch.entries()) b.resolve(results[i] as EnqueueResult);
      },
      (err: Error) => {
        for (const b of batch) b.reject(err);
      },
    );
  }
  claim(channel: string, limit: number, now: number): Promise<OutboxRow[]> {
    return this.call('claim', channel, limit, now);
  }
  nextDue(channel: string): Promise<number | undefined> {
    return this.call('nextDue', channel);
  }
  record(channel: string, groupId: string): Promise<DeliveryRecord | undefined> {
    return this.call('record', channel, groupId);
  }
  complete(
    row: OutboxRow,
    record: DeliveryRecord | undefined,
    followUps?: readonly FollowUp[],
    note?: DeliveryNote,
  ): Promise<void> {
    return this.call('complete', row, record, followUps, note);
  }
  reschedule(
    row: OutboxRow,
    nextAttemptAt: number,
    error: string,
    record?: DeliveryRecord,
    note?: DeliveryNote,
  ): Promise<void> {
    return this.call('reschedule', row, nextAttemptAt, error, record, note);
  }
  deadLetter(row: OutboxRow, error: string, now: number, note?: DeliveryNote): Promise<void> {
    return this.call('deadLetter', row, error, now, note);
  }
  release(row: OutboxRow, nextAttemptAt: number, reason: string): Promise<void> {
    return this.call('release', row, nextAttemptAt, reason);
  }
  recover(): Promise<number> {
    return this.call('recover');
  }
  stats(): Promise<OutboxStats[]> {
    return this.call('stats');
  }
  dead(limit?: number): Promise<DeadRow[]> {
    return this.call('dead', limit);
  }
  list(query?: ListQuery): Promise<OutboxEntry[]> {
    return this.call('list', query);
  }
  get(id: number): Promise<OutboxEntry | undefined> {
    return this.call('get', id);
  }
  requeue(id: number, note: ActionNote): Promise<ActionResult> {
    return this.call('requeue', id, note);
  }
  discard(id: number, note: ActionNote): Promise<ActionResult> {
    return this.call('discard', id, note);
  }
  recent(limit?: number): Promise<DeliveryLogEntry[]> {
    return this.call('recent', limit);
  }
  health(): Promise<ChannelHealth[]> {
    return this.call('health');
  }
  prune(before: number): Promise<void> {
    return this.call('prune', before);
  }
  ping(): Promise<void> {
    return this.call('ping');
  }
  checkWritable(now: number): Promise<void> {
    return this.call('checkWritable', now);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    try {
      await this.call('close');
    } finally {
      this.failure = new Error('the store is closed');
      await this.worker.terminate();
    }
  }
}
