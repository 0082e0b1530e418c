// The store contract, on SQLite and on PostgreSQL (a server of this file's own: test/helpers/postgres.ts):
// every test of the first two blocks runs on both. What belongs to one engine (SQLite's lock file and
// store thread, its schema upgrade) follows them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresSkipReason, usePostgres } from '../../test/helpers/postgres.js';
import { PostgresStore } from '../src/outbox/postgres.js';
import { SqliteStore } from '../src/outbox/sqlite.js';
import type { EnqueueRequest, OutboxStore } from '../src/outbox/store.js';
import { ThreadedSqliteStore } from '../src/outbox/threaded.js';

const pgSkip = postgresSkipReason();
const postgres = usePostgres();

/** One engine under the contract: a fresh store per test, and ways to look at the same data again. */
interface Backend {
  name: string;
  skip: string | undefined;
  /** A new, empty store (before each test). */
  open(): Promise<OutboxStore>;
  /** The same data as the outbox commands open it, beside the running receiver. */
  beside(): Promise<OutboxStore>;
  /** Rows in one table. */
  count(table: 'notifications' | 'outbox'): Promise<number>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  const file = () => join(dir, 'sub', 'receiver.db');
  return {
    name: 'SQLite',
    skip: undefined,
    open: async () => {
      dir = mkdtempSync(join(tmpdir(), 'lm-store-'));
      return new SqliteStore({ path: file() });
    },
    beside: async () => new SqliteStore({ path: file(), role: 'beside' }),
    count: async (table) => {
      const db = new Database(file(), { readonly: true });
      try {
        return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** PostgreSQL: a schema of its own per test, in the server's `postgres` database. */
function postgresBackend(): Backend {
  let schema = '';
  const options = () => ({ url: postgres().url(), schema });
  return {
    name: 'PostgreSQL',
    skip: pgSkip,
    open: async () => {
      schema = postgres().newSchemaName();
      return PostgresStore.open(options());
    },
    beside: () => PostgresStore.open({ ...options(), role: 'beside' }),
    count: async (table) => {
      const rows = await postgres().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${table}`);
      return (rows[0] as { n: number }).n;
    },
    cleanup: async () => {},
  };
}

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

/**
 * After an upgrade from a store without the intake's resolved alerts: the notification accepted before
 * (request(), to slack) is still known, and a resolve then its late firing are told apart.
 */
async function expectUpgradedIntake(s: OutboxStore): Promise<void> {
  const again = await s.enqueue(request({ destinations: ['slack'], receivedAt: 2000 }));
  expect(again.outcomes).toEqual([{ channel: 'slack', outcome: 'duplicate' }]);
  const resolve = request({ destinations: ['slack'], contentKey: 'c2', resolved: ['a|1'], receivedAt: 3000 });
  expect((await s.enqueue(resolve)).outcomes[0]?.outcome).toBe('queued');
  const late = request({ destinations: ['slack'], contentKey: 'c1', firing: ['a|1'], receivedAt: 4000 });
  expect((await s.enqueue(late)).outcomes[0]?.outcome).toBe('stale');
}

/** A row of `slack` that died at once (channel_not_found). */
async function dead(s: OutboxStore, over: Partial<EnqueueRequest> = {}) {
  await s.enqueue(request({ destinations: ['slack'], ...over }));
  const at = (over.receivedAt ?? 1000) + 1500;
  const [row] = await s.claim('slack', 1, at);
  await s.deadLetter(row as NonNullable<typeof row>, 'channel_not_found', at, { at, kind: 'new' });
  return row as NonNullable<typeof row>;
}

for (const backend of [sqliteBackend(), postgresBackend()])
  describe.skipIf(backend.skip !== undefined)(
    `the outbox on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`,
    () => {
      let store: OutboxStore;
      beforeEach(async () => {
        store = await backend.open();
      });
      afterEach(async () => {
        await store.close();
        await backend.cleanup();
      });
      contract(backend, () => store);
    },
  );

function contract(backend: Backend, current: () => OutboxStore): void {
  it('writes one row per destination, and deduplicates the same content within the window', async () => {
    const store = current();
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

  it("drops a late retry of a group's firing that arrives after its resolve, and keeps it as the state", async () => {
    const store = current();
    const firing = request({ destinations: ['slack'], contentKey: 'fire', firing: ['a1|100'] });
    const resolve = { ...firing, contentKey: 'resolve', firing: [], resolved: ['a1|100'] };
    expect((await store.enqueue(firing)).outcomes).toEqual([{ channel: 'slack', outcome: 'queued' }]);
    expect((await store.enqueue({ ...resolve, receivedAt: 5000 })).outcomes[0]?.outcome).toBe('queued');
    // Alertmanager's retry of the firing, to a replica that was down, reaches the store after the resolve.
    expect((await store.enqueue({ ...firing, receivedAt: 9000 })).outcomes[0]?.outcome).toBe('stale');
    expect(await backend.count('outbox')).toBe(2);
    // It changed nothing: the resolve's twin is still a duplicate, and the alert firing again (a new
    // start) is a new state.
    expect((await store.enqueue({ ...resolve, receivedAt: 9500 })).outcomes[0]?.outcome).toBe('duplicate');
    const again = { ...firing, contentKey: 'fire-again', firing: ['a1|7000'], receivedAt: 10_000 };
    expect((await store.enqueue(again)).outcomes[0]?.outcome).toBe('queued');
    expect(await backend.count('outbox')).toBe(3);
  });

  it('keeps arrival order within one group commit: each decided against the one before, delivered in order', async () => {
    const store = current();
    // Webhooks that arrive together are written together (one transaction); what each one decides
    // must still see the ones before it, and a group's rows keep their order.
    const fire = request({ destinations: ['slack'], contentKey: 'fire', firing: ['a|1'] });
    const states = [
      fire,
      { ...fire, receivedAt: 1001 }, // its HA twin
      { ...fire, groupId: 'g2', receivedAt: 1002 },
      { ...fire, contentKey: 'resolve', firing: [], resolved: ['a|1'], payload: '{"n":2}', receivedAt: 1003 },
      { ...fire, receivedAt: 1004 }, // a late retry of the firing
    ];
    const results = await Promise.all(states.map((r) => store.enqueue(r)));
    expect(results.map((r) => r.outcomes[0]?.outcome)).toEqual([
      'queued',
      'duplicate',
      'queued',
      'queued',
      'stale',
    ]);
    const first = await store.claim('slack', 10, 5000);
    expect(first.map((r) => [r.groupId, r.payload])).toEqual([
      ['g1', '{"n":1}'],
      ['g2', '{"n":1}'],
    ]);
    await store.complete(first[0] as (typeof first)[0], undefined);
    expect((await store.claim('slack', 10, 5000)).map((r) => [r.groupId, r.payload])).toEqual([
      ['g1', '{"n":2}'],
    ]);
  });

  it('delivers the rows of a group one at a time, oldest first, and other groups alongside', async () => {
    const store = current();
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
    const store = current();
    await store.enqueue(request());
    for (const channel of ['slack', 'mail']) {
      const [row] = await store.claim(channel, 1, 2000);
      await store.complete(row as NonNullable<typeof row>, undefined);
    }
    expect(await backend.count('notifications')).toBe(0);
    expect(await backend.count('outbox')).toBe(0);
  });

  it('keeps dead rows visible without blocking the group', async () => {
    const store = current();
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

  it('writes outcomes idempotently: only a row still in flight changes, complete of a gone row succeeds', async () => {
    const store = current();
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
    const store = current();
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

  describe('the outbox beside a running receiver (the outbox commands)', () => {
    it('reads and writes the store the receiver holds', async () => {
      const store = current();
      const row = await dead(store);
      const beside = await backend.beside();
      try {
        expect((await beside.list()).map((e) => [e.id, e.state, e.lastError])).toEqual([
          [row.id, 'dead', 'channel_not_found'],
        ]);
        expect(await beside.requeue(row.id, { at: 3000, by: 'cli' })).toEqual({
          id: row.id,
          outcome: 'requeued',
        });
        // The receiver sees the row at once: due now, attempts and age counted from the retry.
        const [again] = await store.claim('slack', 1, 3000);
        expect(again).toMatchObject({ id: row.id, attempts: 0, createdAt: 1000, retriedAt: 3000 });
        await store.complete(again as NonNullable<typeof again>, undefined, [], {
          at: 3100,
          title: 'T',
          skipped: true,
        });
        expect(await beside.list()).toEqual([]);
        expect((await beside.recent()).map((l) => [l.outcome, l.by ?? '', l.at])).toEqual([
          ['skipped', '', 3100],
          ['requeued', 'cli', 3000],
          ['dead', '', 2500],
        ]);
      } finally {
        await beside.close();
      }
      // The receiver's store still works after the CLI closed its own.
      await store.checkWritable(4000);
    });

    it('retries only dead rows, once, and refuses a row whose group was delivered since', async () => {
      const store = current();
      const row = await dead(store);
      expect(await store.requeue(999, { at: 3000, by: 'cli' })).toEqual({ id: 999, outcome: 'not-found' });
      expect(await store.requeue(row.id, { at: 3000, by: 'cli' })).toEqual({
        id: row.id,
        outcome: 'requeued',
      });
      // Twice in a row (two operators, a double click): the second finds it pending.
      expect(await store.requeue(row.id, { at: 3001, by: 'cli' })).toEqual({
        id: row.id,
        outcome: 'not-dead',
      });
      await store.claim('slack', 1, 3001);
      expect(await store.requeue(row.id, { at: 3002, by: 'cli' })).toEqual({
        id: row.id,
        outcome: 'in-flight',
      });
      expect(await store.discard(row.id, { at: 3002, by: 'cli' })).toEqual({
        id: row.id,
        outcome: 'in-flight',
      });

      // A firing row dies; a newer notification of the group (the resolve) is delivered after it: the
      // dead firing row is superseded, and retrying it would post the firing state again.
      const old = await dead(store, { groupId: 'g2', contentKey: 'firing', receivedAt: 4000 });
      await store.enqueue(
        request({ groupId: 'g2', contentKey: 'resolved', destinations: ['slack'], receivedAt: 5000 }),
      );
      const [resolve] = await store.claim('slack', 1, 6000);
      const record = {
        state: 'closed' as const,
        ref: { ts: '1' },
        firing: [],
        openedAt: 6000,
        updatedAt: 6000,
      };
      await store.complete(resolve as NonNullable<typeof resolve>, record, [], { at: 6000, kind: 'new' });
      expect(await store.get(old.id)).toMatchObject({ state: 'dead', supersededAt: 6000 });
      expect(await store.requeue(old.id, { at: 7000, by: 'cli' })).toEqual({
        id: old.id,
        outcome: 'superseded',
        supersededAt: 6000,
      });
      expect(await store.discard(old.id, { at: 7000, by: 'ui:ops', title: 'X cluster=c1' })).toEqual({
        id: old.id,
        outcome: 'discarded',
      });
      expect(await store.get(old.id)).toBeUndefined();
      expect((await store.recent(1))[0]).toMatchObject({
        outcome: 'discarded',
        by: 'ui:ops',
        title: 'X cluster=c1',
        error: 'channel_not_found',
        rowId: old.id,
      });
    });

    it("supersedes a dead follow-up (a refused recipient) once its group's next notification is delivered", async () => {
      const store = current();
      await store.enqueue(request({ destinations: ['mail'], contentKey: 'firing' }));
      const [row] = await store.claim('mail', 1, 2000);
      const open = { state: 'open' as const, ref: {}, firing: ['fp'], openedAt: 2000, updatedAt: 2000 };
      await store.complete(row as NonNullable<typeof row>, open, [
        { target: 'b@example.com', data: {}, at: 2100, deadError: 'b@example.com refused: 550' },
      ]);
      const [followUp] = await store.list({ states: ['dead'] });
      expect(followUp).toMatchObject({ groupId: 'g1/b@example.com' });
      expect(followUp?.supersededAt).toBeUndefined();
      // The resolve goes out to the others: the firing mail to b@ would now be news from the past.
      await store.enqueue(request({ destinations: ['mail'], contentKey: 'resolved', receivedAt: 3000 }));
      const [resolve] = await store.claim('mail', 1, 3000);
      await store.complete(resolve as NonNullable<typeof resolve>, {
        ...open,
        state: 'closed',
        updatedAt: 3100,
      });
      const id = followUp?.id as number;
      expect(await store.requeue(id, { at: 4000, by: 'cli' })).toEqual({
        id,
        outcome: 'superseded',
        supersededAt: 3100,
      });
    });

    it("lists by state and channel, and tells each channel's last success and error", async () => {
      const store = current();
      await store.enqueue(request({ groupId: 'a', destinations: ['slack', 'mail'] }));
      await store.enqueue(request({ groupId: 'b', destinations: ['slack'] }));
      const [a, b] = await store.claim('slack', 2, 2000);
      await store.complete(
        a as NonNullable<typeof a>,
        { state: 'open', ref: {}, firing: [], openedAt: 2100, updatedAt: 2100 },
        [],
        { at: 2100, kind: 'new', title: 'A' },
      );
      await store.reschedule(b as NonNullable<typeof b>, 9000, 'HTTP 503', undefined, {
        at: 2200,
        kind: 'new',
        title: 'B',
      });
      const [m] = await store.claim('mail', 1, 2000);
      await store.deadLetter(m as NonNullable<typeof m>, '550 no such user', 2300, {
        at: 2300,
        kind: 'new',
        title: 'A',
      });
      expect(
        (await store.list({ states: ['pending'] })).map((e) => [
          e.channel,
          e.groupId,
          e.attempts,
          e.lastError,
        ]),
      ).toEqual([['slack', 'b', 1, 'HTTP 503']]);
      expect((await store.list({ channel: 'mail' })).map((e) => e.state)).toEqual(['dead']);
      expect(await store.health()).toEqual([
        {
          channel: 'mail',
          pending: 0,
          inflight: 0,
          dead: 1,
          lastErrorAt: 2300,
          lastError: '550 no such user',
        },
        {
          channel: 'slack',
          pending: 1,
          inflight: 0,
          dead: 0,
          oldestCreatedAt: 1000,
          lastSuccessAt: 2100,
          lastErrorAt: 2200,
          lastError: 'HTTP 503',
        },
      ]);
      expect((await store.recent()).map((l) => [l.outcome, l.channel, l.kind, l.title])).toEqual([
        ['dead', 'mail', 'new', 'A'],
        ['retry', 'slack', 'new', 'B'],
        ['sent', 'slack', 'new', 'A'],
      ]);
      await store.prune(2250);
      expect((await store.recent()).map((l) => l.outcome)).toEqual(['dead']);
    });
  });
}

describe.skipIf(pgSkip !== undefined)('the outbox on PostgreSQL shared by several receivers', () => {
  const opened: PostgresStore[] = [];
  const open = async (schema: string, over: Partial<Parameters<typeof PostgresStore.open>[0]> = {}) => {
    const s = await PostgresStore.open({ url: postgres().url(), schema, leaseMs: 1000, ...over });
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('creates the schema once when receivers start together (advisory lock)', async () => {
    const schema = postgres().newSchemaName('together');
    const stores = await Promise.all([1, 2, 3, 4].map(() => open(schema)));
    expect(stores).toHaveLength(4);
    const version = await postgres().query<{ value: string }>(`SELECT value FROM ${schema}.meta`);
    expect(version).toEqual([{ value: '2' }]);
  });

  it('upgrades a version-1 schema: the intake keeps its rows and learns the resolved alerts', async () => {
    const schema = postgres().newSchemaName('upgrade');
    const first = await open(schema);
    await first.enqueue(request({ destinations: ['slack'] }));
    await first.close();
    await postgres().query(
      `ALTER TABLE ${schema}.intake DROP COLUMN resolved; UPDATE ${schema}.meta SET value = '1'`,
    );
    await expect(PostgresStore.open({ url: postgres().url(), schema, role: 'beside' })).rejects.toThrow(
      /has version 1, this license-receiver reads version 2/,
    );
    const upgraded = await open(schema);
    expect(await postgres().query(`SELECT value FROM ${schema}.meta`)).toEqual([{ value: '2' }]);
    await expectUpgradedIntake(upgraded);
  });

  it('stores one row per destination when two receivers take the same notification at once', async () => {
    const schema = postgres().newSchemaName('intake');
    const [a, b] = [await open(schema), await open(schema)];
    for (let g = 0; g < 20; g++) {
      const results = await Promise.all(
        [a, b, a, b].map((s, i) => s.enqueue(request({ groupId: `g${g}`, receivedAt: 1000 + i }))),
      );
      const queued = results.flatMap((r) => r.outcomes).filter((o) => o.outcome === 'queued');
      expect(queued.map((o) => o.channel).sort()).toEqual(['mail', 'slack']);
    }
    expect((await a.stats()).map((s) => [s.channel, s.pending])).toEqual([
      ['mail', 20],
      ['slack', 20],
    ]);
  });

  it("keeps a group's rows one at a time across receivers, and never takes over a live receiver's lease", async () => {
    const schema = postgres().newSchemaName('lease');
    const [a, b] = [await open(schema), await open(schema)];
    await a.enqueue(request({ destinations: ['slack'] }));
    await a.enqueue(request({ destinations: ['slack'], contentKey: 'c2', receivedAt: 1001 }));
    const [held] = await a.claim('slack', 10, 2000);
    expect(held?.id).toBe(1);
    // a renews its lease (every lease/3): b, connected for longer than a lease, still takes nothing.
    await sleep(2500);
    expect(await b.claim('slack', 10, 5000)).toEqual([]);
    await a.complete(held as NonNullable<typeof held>, undefined);
    expect((await b.claim('slack', 10, 5000)).map((r) => r.id)).toEqual([2]);
  });

  it("takes over the rows of a receiver that stopped renewing its lease; the late receiver's outcome changes nothing", async () => {
    const schema = postgres().newSchemaName('takeover');
    const taken: number[] = [];
    const a = await open(schema);
    const b = await open(schema, { onTakenOver: (_channel, rows) => taken.push(rows) });
    await a.enqueue(request({ destinations: ['slack'] }));
    const [row] = await a.claim('slack', 10, 2000);
    // a hangs (its timer stops: as a process stopped or cut off from the database).
    (a as unknown as { heartbeat: NodeJS.Timeout }).heartbeat.close();
    expect(await b.claim('slack', 10, 2500)).toEqual([]);
    await sleep(1500);
    const again = await b.claim('slack', 10, 4000);
    expect(again.map((r) => r.id)).toEqual([row?.id]);
    expect(taken).toEqual([1]);
    // a comes back and writes a retry for the row it lost: b holds it now, nothing changes.
    await a.reschedule(row as NonNullable<typeof row>, 9000, 'HTTP 500');
    expect((await b.list()).map((e) => [e.id, e.state, e.attempts])).toEqual([[row?.id, 'inflight', 0]]);
    await b.complete(again[0] as NonNullable<(typeof again)[0]>, undefined);
    expect(await b.list()).toEqual([]);
  });

  it('shares one rate bucket per destination among receivers', async () => {
    const schema = postgres().newSchemaName('rate');
    const [a, b] = [await open(schema), await open(schema)];
    const rate = { perSecond: 2, burst: 3 };
    for (let g = 0; g < 10; g++) await a.enqueue(request({ groupId: `g${g}`, destinations: ['slack'] }));
    // At one moment: the burst, whoever asks.
    const first = [
      ...(await a.claim('slack', 10, 10_000, rate)),
      ...(await b.claim('slack', 10, 10_000, rate)),
    ];
    expect(first).toHaveLength(3);
    // One second later: two more, for both together.
    const later = [
      ...(await b.claim('slack', 10, 11_000, rate)),
      ...(await a.claim('slack', 10, 11_000, rate)),
    ];
    expect(later).toHaveLength(2);
    // A Retry-After seen by one receiver pauses the other.
    await a.pause('slack', 20_000, 11_000, rate);
    expect(await b.claim('slack', 10, 15_000, rate)).toEqual([]);
    expect((await b.claim('slack', 10, 20_000, rate)).length).toBe(1);
  });

  it('does not ask the database again before the shared bucket has a token (every webhook wakes the loop)', async () => {
    const schema = postgres().newSchemaName('rate_wait');
    const [a, b] = [await open(schema), await open(schema)];
    const rate = { perSecond: 1, burst: 1 };
    for (let g = 0; g < 5; g++) await a.enqueue(request({ groupId: `g${g}`, destinations: ['slack'] }));
    expect(await a.claim('slack', 1, 10_000, rate)).toHaveLength(1);
    expect(await b.claim('slack', 1, 10_000, rate)).toEqual([]); // the bucket is empty: B learns until when
    // Count B's transactions from now on (its lease heartbeat stopped: it would count too).
    clearInterval((b as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
    const pool = (b as unknown as { pool: { connect: (...args: unknown[]) => unknown } }).pool;
    const connect = pool.connect.bind(pool);
    let transactions = 0;
    pool.connect = (...args: unknown[]) => {
      transactions++;
      return connect(...args);
    };
    for (let i = 0; i < 50; i++) expect(await b.claim('slack', 1, 10_000 + i * 10, rate)).toEqual([]);
    expect(transactions).toBe(0);
    expect(await b.claim('slack', 1, 11_000, rate)).toHaveLength(1); // the next token, taken by B
    expect(transactions).toBe(1);
  });
});

describe('the outbox on SQLite alone', () => {
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

  it('refuses a second receiver on the same file, and takes it once the first has closed', async () => {
    expect(() => new SqliteStore({ path, busyTimeoutMs: 50 })).toThrow(
      /another license-receiver uses this store \(.*receiver\.db\.lock is locked: database is locked\)/,
    );
    await store.close();
    store = new SqliteStore({ path, busyTimeoutMs: 50 });
    await store.ping();
  });

  it('adds the columns of later versions to a store written by version 1', async () => {
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
    expect(row?.retriedAt).toBeUndefined();
  });
  it('upgrades a version-3 store: the intake keeps its rows and learns the resolved alerts', async () => {
    await store.enqueue(request({ destinations: ['slack'] }));
    await store.close();
    const old = new Database(path);
    old.exec("ALTER TABLE intake DROP COLUMN resolved; UPDATE meta SET value = '3'");
    old.close();
    store = new SqliteStore({ path });
    await expectUpgradedIntake(store);
  });

  it("makes the receiver's transactions wait for a write of the CLI instead of failing", async () => {
    await store.close();
    const threaded = await ThreadedSqliteStore.open({ path });
    const Database = (await import('better-sqlite3')).default;
    const cli = new Database(path);
    try {
      await threaded.enqueue(request({ destinations: ['slack'] }));
      // The CLI holds the write lock for 300 ms; the receiver's claim (read, then write) meanwhile.
      cli.exec('BEGIN IMMEDIATE');
      cli.exec("UPDATE meta SET value = value WHERE key = 'schema_version'");
      const claimed = threaded.claim('slack', 1, 2000);
      await new Promise((r) => setTimeout(r, 300));
      cli.exec('COMMIT');
      expect((await claimed).map((r) => r.groupId)).toEqual(['g1']);
    } finally {
      cli.close();
      await threaded.close();
      store = new SqliteStore({ path });
    }
  });

  it('never creates a store, and refuses one of another schema version', async () => {
    expect(() => new SqliteStore({ path: join(dir, 'none.db'), role: 'beside' })).toThrow(
      /no outbox at .*none\.db: the receiver creates it when it first starts/,
    );
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.exec(
      "ALTER TABLE outbox DROP COLUMN retried_at; DROP TABLE delivery_log; UPDATE meta SET value = '1'",
    );
    db.close();
    expect(() => new SqliteStore({ path, role: 'beside' })).toThrow(
      /the outbox has schema version 1, this license-receiver reads version 4/,
    );
    // The receiver upgrades a version-1 store when it starts.
    store = new SqliteStore({ path });
    const row = await dead(store);
    expect(await store.requeue(row.id, { at: 3000, by: 'cli' })).toMatchObject({ outcome: 'requeued' });
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
          /cannot open the store .*threaded\.db: another license-receiver uses this store/,
        );
      } finally {
        await threaded.close();
      }
      await expect(threaded.ping()).rejects.toThrow('the store is closed');
    });
  });
});
