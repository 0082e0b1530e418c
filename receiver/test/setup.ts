// Vitest runs the receiver from its TypeScript source: the SQLite store's worker thread is started
// from sqlite-worker.ts through tsx (a dev dependency), which production code never loads.
import { Worker } from 'node:worker_threads';
import { setWorkerStarter } from '../src/outbox/threaded.js';

const source = new URL('../src/outbox/sqlite-worker.ts', import.meta.url).href;

setWorkerStarter(
  (options) =>
    new Worker(
      `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(source)}); })`,
      { eval: true, workerData: options },
    ),
);
