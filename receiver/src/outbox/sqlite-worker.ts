// The SQLite outbox on its own thread: better-sqlite3 is synchronous, and a commit with
// synchronous=FULL waits for fsync. Here that wait never blocks the event loop that answers webhooks.
import { parentPort, workerData } from 'node:worker_threads';
import { type SqliteOptions, SqliteStore } from './sqlite.js';

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

const port = parentPort;
if (!port) throw new Error('sqlite-worker must run in a worker thread');

let store: SqliteStore | undefined;
try {
  store = new SqliteStore(workerData as SqliteOptions);
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: (err as Error).message });
}

port.on('message', (call: Call) => {
  const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[call.method];
  if (!store || typeof method !== 'function') {
    port.postMessage({ id: call.id, error: `no store method ${call.method}` });
    return;
  }
  method.apply(store, call.args).then(
    (result) => port.postMessage({ id: call.id, result }),
    (err: Error) => port.postMessage({ id: call.id, error: err.message }),
  );
});
