// `license-receiver outbox list|show|retry|discard`: the outbox of a receiver, read and changed from a
// second process while the receiver runs (the store is shared; see outbox/sqlite.ts). A retried row is
// sent by the running receiver at its next look (delivery.poll_interval), once.
import { userInfo } from 'node:os';
import type { ReceiverConfig } from './config.js';
import { actionText, type EntryView, entryDescriber } from './outbox/inspect.js';
import { receiverRunning, SqliteStore } from './outbox/sqlite.js';
import { type ActionResult, type OutboxEntry, ROW_STATES, type RowState } from './outbox/store.js';
import { humanDuration, humanTime } from './units.js';

export const OUTBOX_USAGE = `  license-receiver outbox list --config FILE [--state dead|pending|inflight|all] [--channel NAME] [--json]
                                                 rows not yet delivered, newest first
  license-receiver outbox show --config FILE [--json] ID
  license-receiver outbox retry --config FILE ID... | --all-dead [--channel NAME]
                                                 queue dead rows again: the running receiver sends each once
  license-receiver outbox discard --config FILE ID...
                                                 delete dead or pending rows`;

export interface OutboxArgs {
  sub: string | undefined;
  ids: string[];
  state?: string | undefined;
  channel?: string | undefined;
  json: boolean;
  allDead: boolean;
}

export interface OutboxIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** A usage mistake: the caller prints the usage and exits 2. */
export class OutboxUsageError extends Error {
  override name = 'OutboxUsageError';
}

export async function outboxCommand(config: ReceiverConfig, args: OutboxArgs, io: OutboxIo): Promise<number> {
  let store: SqliteStore;
  try {
    store = openBeside(config);
  } catch (err) {
    io.err(`license-receiver: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    switch (args.sub) {
      case 'list':
        return await list(store, config, args, io);
      case 'show':
        return await show(store, config, args, io);
      case 'retry':
        return await act(store, config, args, io, 'retry');
      case 'discard':
        return await act(store, config, args, io, 'discard');
      default:
        throw new OutboxUsageError(
          args.sub === undefined
            ? 'outbox: missing subcommand: list, show, retry or discard'
            : `outbox: unknown subcommand ${JSON.stringify(args.sub)}: expected list, show, retry or discard`,
        );
    }
  } finally {
    await store.close();
  }
}

function openBeside(config: ReceiverConfig): SqliteStore {
  return new SqliteStore({
    path: config.store.path,
    synchronous: config.store.synchronous,
    role: 'beside',
    busyTimeoutMs: 5000,
  });
}

function states(value: string | undefined): RowState[] {
  if (value === undefined || value === 'all') return [...ROW_STATES];
  if ((ROW_STATES as readonly string[]).includes(value)) return [value as RowState];
  throw new OutboxUsageError(
    `--state: ${JSON.stringify(value)} is not valid: expected dead, pending, inflight or all`,
  );
}

function ids(args: OutboxArgs): number[] {
  return args.ids.map((text) => {
    const id = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(id))
      throw new OutboxUsageError(
        `${JSON.stringify(text)} is not a row id: expected a whole number (see outbox list)`,
      );
    return id;
  });
}

async function list(
  store: SqliteStore,
  config: ReceiverConfig,
  args: OutboxArgs,
  io: OutboxIo,
): Promise<number> {
  if (args.ids.length > 0)
    throw new OutboxUsageError(`outbox list: unexpected argument ${JSON.stringify(args.ids[0])}`);
  const describe = entryDescriber(config);
  const entries = (
    await store.list({ states: states(args.state), ...(args.channel ? { channel: args.channel } : {}) })
  ).map(describe);
  if (args.json) {
    io.out(`${JSON.stringify(entries, null, 2)}\n`);
    return 0;
  }
  if (entries.length === 0) {
    io.out(
      `No rows${args.state && args.state !== 'all' ? ` in state ${args.state}` : ''}: the outbox is empty.\n`,
    );
    return 0;
  }
  io.out(table(entries));
  if (entries.some((e) => e.state === 'dead'))
    io.out(
      `\nRetry: license-receiver outbox retry --config ${config.file} ID… (or --all-dead); discard: license-receiver outbox discard --config ${config.file} ID…\n`,
    );
  return 0;
}

function table(entries: EntryView[]): string {
  const rows = entries.map((e) => [
    String(e.id),
    e.superseded_at ? 'dead*' : e.state,
    e.channel,
    humanTime(Date.parse(e.created_at)).replace(' UTC', ''),
    String(e.attempts),
    `${e.title}${e.status ? ` (${e.status})` : ''}`,
    oneLine(e.last_error ?? ''),
  ]);
  const head = ['ID', 'STATE', 'CHANNEL', 'CREATED (UTC)', 'ATTEMPTS', 'GROUP', 'LAST ERROR'];
  const widths = head.map((h, i) =>
    Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : clip(c, widths[i] as number).padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const note = entries.some((e) => e.superseded_at)
    ? '\n* superseded: a newer notification of the group was delivered since; retrying is refused, discard it.\n'
    : '';
  return `${[line(head), ...rows.map(line)].join('\n')}\n${note}`;
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const oneLine = (text: string) => clip(text.replace(/\s+/g, ' ').trim(), 160);

async function show(
  store: SqliteStore,
  config: ReceiverConfig,
  args: OutboxArgs,
  io: OutboxIo,
): Promise<number> {
  const [id, extra] = ids(args);
  if (id === undefined) throw new OutboxUsageError('outbox show: missing row id');
  if (extra !== undefined)
    throw new OutboxUsageError(`outbox show: one row id at a time (got ${args.ids.length})`);
  const entry = await store.get(id);
  if (!entry) {
    io.err(`license-receiver: ${actionText({ id, outcome: 'not-found' }, '')}\n`);
    return 1;
  }
  const view = entryDescriber(config)(entry);
  if (args.json) {
    io.out(`${JSON.stringify({ ...view, notification: storedPayload(entry) }, null, 2)}\n`);
    return 0;
  }
  const at = (iso: string | null) => (iso ? humanTime(Date.parse(iso)) : '—');
  const lines: [string, string][] = [
    ['Row', `${view.id}, ${view.state}${view.reminder ? ' (a reminder)' : ''}, to channel ${view.channel}`],
    ['Group', `${view.title}${view.status ? `, ${view.status}` : ''}`],
    ['Identity', `${view.group} (id ${view.group_id})`],
    ...view.alerts.map((a, i): [string, string] => [
      i === 0 ? 'Alerts' : '',
      `${a.status} ${a.alertname}${Object.keys(a.distinct).length > 0 ? ` ${labelText(a.distinct)}` : ''}`,
    ]),
    ['Received', at(view.created_at)],
    ['Attempts', String(view.attempts)],
  ];
  if (view.retried_at) lines.push(['Retried', at(view.retried_at)]);
  if (view.next_attempt_at) lines.push(['Next attempt', at(view.next_attempt_at)]);
  if (view.dead_at) lines.push(['Dead since', at(view.dead_at)]);
  if (view.last_error) lines.push(['Last error', view.last_error]);
  if (view.superseded_at)
    lines.push([
      'Superseded',
      `a newer notification of the group was delivered at ${at(view.superseded_at)}: retrying is refused, discard it`,
    ]);
  io.out(`${lines.map(([k, v]) => `${`${k}${k ? ':' : ''}`.padEnd(14)}${v}`).join('\n')}\n`);
  return 0;
}

const labelText = (labels: Record<string, string>) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;

function storedPayload(entry: OutboxEntry): unknown {
  try {
    return (JSON.parse(entry.payload) as { payload?: unknown }).payload ?? null;
  } catch {
    return null;
  }
}

/** `cli:<user>`: who asked, for the delivery log. */
function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

async function act(
  store: SqliteStore,
  config: ReceiverConfig,
  args: OutboxArgs,
  io: OutboxIo,
  action: 'retry' | 'discard',
): Promise<number> {
  const all = action === 'retry' && args.allDead;
  if (all && args.ids.length > 0)
    throw new OutboxUsageError('outbox retry: give row ids or --all-dead, not both');
  if (args.allDead && action !== 'retry') throw new OutboxUsageError('--all-dead goes with outbox retry');
  const targets = all
    ? (
        await store.list({
          states: ['dead'],
          ...(args.channel ? { channel: args.channel } : {}),
          limit: 100_000,
        })
      ).map((e) => e.id)
    : ids(args);
  if (targets.length === 0) {
    if (!all) throw new OutboxUsageError(`outbox ${action}: missing row ids (see outbox list)`);
    io.out('No dead rows to retry.\n');
    return 0;
  }
  const describe = entryDescriber(config);
  const by = actor();
  const ms = config.delivery.pollIntervalMs;
  const poll = ms < 1000 ? `${ms}ms` : humanDuration(ms);
  const results: ActionResult[] = [];
  for (const id of [...targets].sort((a, b) => a - b)) {
    const entry = await store.get(id);
    const note = { at: Date.now(), by, ...(entry ? { title: describe(entry).title } : {}) };
    results.push(action === 'retry' ? await store.requeue(id, note) : await store.discard(id, note));
  }
  const done = action === 'retry' ? 'requeued' : 'discarded';
  for (const result of results) {
    const text = actionText(result, poll);
    if (result.outcome === done) io.out(`${text}\n`);
    else io.err(`license-receiver: ${text}\n`);
  }
  if (
    action === 'retry' &&
    results.some((r) => r.outcome === 'requeued') &&
    !receiverRunning(config.store.path)
  )
    io.out('No receiver is running on this store: the rows are sent when it starts.\n');
  // --all-dead skips superseded rows by design; named rows must all have been acted on.
  const failed = results.filter((r) => r.outcome !== done && !(all && r.outcome === 'superseded'));
  return failed.length > 0 ? 1 : 0;
}
