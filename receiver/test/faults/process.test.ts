// Fault injection on the built binary: a fatal error at start must end the process (non-zero, within
// seconds) so that Kubernetes restarts it, instead of a process that holds the store's lock and serves
// nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as yaml from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Started, start } from '../../../test/helpers/process.js';
import { SqliteStore } from '../../src/outbox/sqlite.js';

const BIN = new URL('../../dist/main.js', import.meta.url).pathname;

let dir: string;
const running: Started[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-faults-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serve(db: string): Started {
  const config = join(dir, 'receiver.yaml');
  writeFileSync(
    config,
    yaml.dump({
      listen: '127.0.0.1:0',
      store: { path: db },
      channels: [{ name: 'console', type: 'console' }],
      default_channels: ['console'],
    }),
  );
  const p = start(process.execPath, [BIN, 'serve', '--config', config]);
  running.push(p);
  return p;
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);

describe('fatal start errors', () => {
  it('exits non-zero within seconds when recovering the store fails (worker thread ended)', async () => {
    const db = join(dir, 'recover-fails.db');
    // A store with a row left in flight, and a trigger that makes putting it back fail, as a damaged
    // page would.
    await new SqliteStore({ path: db }).close();
    const raw = new Database(db);
    raw.exec(`
      INSERT INTO notifications (id, received_at, receiver, group_id, payload) VALUES (1, 0, 'r', 'g', '{}');
      INSERT INTO outbox (notification_id, channel, group_id, state, created_at, next_attempt_at)
        VALUES (1, 'console', 'g', 'inflight', 0, 0);
      CREATE TRIGGER damaged BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'database disk image is malformed'); END;
    `);
    raw.close();
    const p = serve(db);
    expect(await within(p.exited, 10_000)).toBe(1);
    expect(p.output()).toContain('database disk image is malformed');
    expect(p.output()).toContain('could not start');
  });
});
