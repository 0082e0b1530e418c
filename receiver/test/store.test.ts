import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/outbox/sqlite.js';
import type { EnqueueRequest } from '../src/outbox/store.js';
import { ThreadedSqliteStore } from '../src/outbox/threaded.js';

let dir: string;
let path: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-store-'));
  path = join(dir, 'sub', 'receiver.db');
  store = new SqliteStore({ path });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = (over: Partial<EnqueueRequest> = {}): EnqueueRequest => ({
  receivedAt: 1000,
  receiver: 'r',
  groupId: 'g1',
  contentKey: 'c1',
  payload: '{"n":1}',
  destinations: ['slack', 'mail'],
  dedupeWindowMs: 60_000,
  ...over,
});

describe('SQLite outbox', () => {
  it('writes one row per destination, and deduplicates the same content within the window', async () => {
    expect((await store.enqueue(request())).outcomes).toEqual([
      { channel: 'slack', outcome: 'queued' },
      { channel: 'mail', outcome: 'queued' },
    ]);
    // Two concurrent duplicates: still one row per destination.
    const [a, b] = await Promise.all([
      store.enqueue(request({ receivedAt: 2000 })),
      store.enqueue(request({ receivedAt: 2001 })),
    ]);
    expect([...a.outcomes, ...b.outcomes].every((o) => o.outcome === 'duplicate')).toBe(true);
    expect(await store.stats()).toEqual([
      { channel: 'mail', pending: 1, inflight: 0, dead: 0, oldestCreatedAt: 1000 },
      { channel: 'slack', pending: 1, inflight: 0, dead: 0, oldestCreatedAt: 1000 },
    ]);
    // Later, the same content is a repeat: a reminder row.
    await store.enqueue(request({ receivedAt: 1000 + 60_000, destinations: ['slack'] }));
    const rows = [...(await store.claim('slack', 10, 100_000))];
    expect(rows.map((r) => r.reminder)).toEqual([false]); // one at a time per group
    await store.complete(rows[0] as (typeof rows)[0], undefined);
    expect((await store.claim('slack', 10, 100_000)).map((r) => r.reminder)).toEqual([true]);
  });

  it('delivers the rows of a group one at a time, oldest first, and other groups alongside', async () => {
    await store.enqueue(request({ contentKey: 'c1', destinations: ['slack'] }));
    await store.enqueue(request({ contentKey: 'c2', destinations: ['slack'], receivedAt: 1001 }));
    await store.enqueue(request({ groupId: 'g2', destinations: ['slack'], receivedAt: 1002 }));
    const first = await store.claim('slack', 10, 5000);
    expect(first.map((r) => [r.groupId, r.payload])).toEqual([
      ['g1', '{"n":1}'],
      ['g2', '{"n":1}'],
    ]);
    expect(await store.claim('slack', 10, 5000)).toEqual([]); // g1's second row waits for its first
    // A retryable failure: the first row goes back to pending, due later; the second still waits.
    await store.reschedule(first[0] as (typeof first)[0], 9000, 'HTTP 500');
    expect(await store.claim('slack', 10, 5000)).toEqual([]);
    expect(await store.nextDue('slack')).toBe(1001); // (row 2 is due but blocked behind row 1)
    const retried = await store.claim('slack', 10, 9000);
    expect(retried.map((r) => [r.id, r.attempts])).toEqual([[1, 1]]);
    await store.complete(retried[0] as (typeof retried)[0], {
      state: 'open',
      ref: { channel: 'C1', ts: '1.2' },
      firing: ['fp'],
      openedAt: 9000,
      updatedAt: 9000,
    });
    expect(await store.record('slack', 'g1')).toEqual({
      state: 'open',
      ref: { channel: 'C1', ts: '1.2' },
      firing: ['fp'],
      openedAt: 9000,
      updatedAt: 9000,
    });
    expect((await store.claim('slack', 10, 9000)).map((r) => r.id)).toEqual([2]);
  });

  it('forgets a delivered notification once every destination has it', async () => {
    await store.enqueue(request());
    for (const channel of ['slack', 'mail']) {
      const [row] = await store.claim(channel, 1, 2000);
      await store.complete(row as NonNullable<typeof row>, undefined);
    }
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM notifications').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    db.close();
    store = new SqliteStore({ path });
  });

  it('keeps dead rows visible without blocking the group', async () => {
    await store.enqueue(request({ contentKey: 'c1', destinations: ['slack'] }));
    await store.enqueue(request({ contentKey: 'c2', destinations: ['slack'] }));
    const [row] = await store.claim('slack', 1, 2000);
    await store.deadLetter(row as NonNullable<typeof row>, 'invalid_blocks', 2000);
    expect(await store.dead()).toEqual([
      {
        id: 1,
        channel: 'slack',
        groupId: 'g1',
        attempts: 1,
        createdAt: 1000,
        deadAt: 2000,
        error: 'invalid_blocks',
      },
    ]);
    expect((await store.claim('slack', 1, 2000)).map((r) => r.id)).toEqual([2]);
    expect((await store.stats())[0]).toMatchObject({ pending: 0, inflight: 1, dead: 1 });
    await store.prune(3000);
    expect(await store.dead()).toEqual([]);
  });

  it('survives a restart: pending rows stay, rows in flight go back to pending', async () => {
    await store.enqueue(request());
    await store.claim('slack', 10, 2000);
    await store.close();
    store = new SqliteStore({ path });
    expect(await store.recover()).toBe(1);
    expect((await store.stats()).map((s) => [s.channel, s.pending, s.inflight])).toEqual([
      ['mail', 1, 0],
      ['slack', 1, 0],
    ]);
  });

  it('writes outcomes idempotently: only a row still in flight changes, complete of a gone row succeeds', async () => {
    await store.enqueue(request({ destinations: ['slack'] }));
    const [row] = await store.claim('slack', 1, 2000);
    if (!row) throw new Error('no row');
    await store.reschedule(row, 3000, 'Slack answered HTTP 503');
    await store.reschedule(row, 9000, 'written again after an ambiguous failure'); // not in flight: no change
    const [again] = await store.claim('slack', 1, 3000);
    expect(again).toMatchObject({ id: row.id, attempts: 1 });
    await store.release(row, 4000, 'cannot read the delivery record');
    expect((await store.claim('slack', 1, 4000))[0]).toMatchObject({ id: row.id, attempts: 1 }); // not counted
    await store.complete(row, undefined);
    await store.complete(row, undefined);
    await store.deadLetter(row, 'too late', 5000);
    expect(await store.stats()).toEqual([]);
    await store.checkWritable(5000);
  });

  it('adds the follow-ups of a partial delivery with its completion: pending alone, or dead', async () => {
    await store.enqueue(request({ destinations: ['mail'] }));
    const [row] = await store.claim('mail', 1, 2000);
    if (!row) throw new Error('no row');
    await store.complete(row, undefined, [
      { target: 'b@example.com', data: { recipient: 'b@example.com' }, at: 2500 },
      {
        target: 'c@example.com',
        data: { recipient: 'c@example.com' },
        at: 2000,
        deadError: 'c@example.com refused: 550',
      },
    ]);
    expect(await store.claim('mail', 10, 2400)).toEqual([]); // not due yet
    const [followUp] = await store.claim('mail', 10, 2500);
    expect(followUp).toMatchObject({
      groupId: 'g1/b@example.com',
      createdAt: 1000, // max_age counts from the notification's acceptance
      payload: '{"n":1}',
      part: { target: 'b@example.com', data: { recipient: 'b@example.com' } },
    });
    expect((await store.dead()).map((d) => [d.groupId, d.error])).toEqual([
      ['g1/c@example.com', 'c@example.com refused: 550'],
    ]);
  });

  it('adds the part column to a store written by the previous version', async () => {
    await store.close();
    rmSync(path);
    const old = new Database(path);
    old.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE notifications (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, receiver TEXT NOT NULL,
        group_id TEXT NOT NULL, payload TEXT NOT NULL);
      CREATE TABLE outbox (id INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL REFERENCES notifications(id),
        channel TEXT NOT NULL, group_id TEXT NOT NULL, reminder INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
        dead_at INTEGER, last_error TEXT);
      INSERT INTO notifications VALUES (1, 1000, 'r', 'g1', '{"n":1}');
      INSERT INTO outbox (notification_id, channel, group_id, created_at, next_attempt_at) VALUES (1, 'slack', 'g1', 1000, 1000);
    `);
    old.close();
    store = new SqliteStore({ path });
    const [row] = await store.claim('slack', 1, 2000);
    expect(row).toMatchObject({ groupId: 'g1', payload: '{"n":1}' });
    expect(row?.part).toBeUndefined();
  });

  it('refuses a second process on the same file', async () => {
    expect(() => new SqliteStore({ path, busyTimeoutMs: 50 })).toThrow(/locked|busy/i);
  });
});

describe('the store thread', () => {
  it('answers like the store, and a second receiver on the same file fails to start', async () => {
    const file = join(dir, 'threaded.db');
    const threaded = await ThreadedSqliteStore.open({ path: file });
    try {
      const results = await Promise.all([
        threaded.enqueue(request()),
        threaded.enqueue(request({ receivedAt: 1001 })),
      ]);
      expect(results.map((r) => r.outcomes.map((o) => o.outcome))).toEqual([
        ['queued', 'queued'],
        ['duplicate', 'duplicate'],
      ]);
      expect((await threaded.claim('slack', 5, 2000)).map((r) => r.groupId)).toEqual(['g1']);
      await expect(ThreadedSqliteStore.open({ path: file, busyTimeoutMs: 50 })).rejects.toThrow(
        /cannot open the store .*threaded\.db: database is locked/,
      );
    } finally {
      await threaded.close();
    }
    await expect(threaded.ping()).rejects.toThrow('the store is closed');
  });
});
