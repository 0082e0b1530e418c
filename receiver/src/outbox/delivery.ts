// The delivery loop: claims due rows per destination within its rate limit and concurrency, plans what
// each means for the destination (new message, update, resolve, reminder), calls the channel and
// records the outcome — delivered, retried later (backoff with jitter, or the destination's
// Retry-After, which also pauses the whole destination), or dead-lettered (permanent error, or older
// than the maximum age). Only this loop calls channels.
//
// Sent is sent: once a destination took a delivery, its outcome is written to the store and nothing
// else happens for that row. When that write fails (a full disk, an I/O error), the outcome is kept
// in memory and written again at every turn of the loop — never sent again — and nothing more goes to
// that destination until it is written (log, metric, /readyz say so). Other outcomes that cannot be
// written (a retry, a dead letter) are kept and written again the same way; their rows stay in flight
// meanwhile and go back to pending once the store takes writes again, without a restart.
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryAttempt,
  type HandledRequest,
  type LookupResult,
  PartlyDelivered,
} from '../channels/channel.js';
import type { ReceiverMetrics } from '../metrics.js';
import type { GroupView } from '../notification.js';
import { type BackoffPolicy, retryDelay } from './backoff.js';
import { type DeliveryRecord, nextRecord, planDelivery } from './plan.js';
import { TokenBucket } from './rate-limit.js';
import type { DeliveryNote, FollowUp, OutboxRow, OutboxStore } from './store.js';

export interface DeliveryOptions {
  store: OutboxStore;
  channels: readonly Channel[];
  metrics: ReceiverMetrics;
  logger: Logger;
  /** Stored row → the group view to render (parses the stored payload, reads runbooks). */
  viewOf: (row: OutboxRow) => GroupView | Promise<GroupView>;
  backoff: BackoffPolicy;
  maxAgeMs: number;
  pollIntervalMs: number;
  now?: () => number;
  random?: () => number;
}

export class DeliveryLoop {
  private readonly now: () => number;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly inflight = new Map<string, number>();
  private readonly deliveries = new Set<Promise<void>>();
  /** Outcomes the store could not record yet, by row id: written again at every turn. */
  private readonly unrecorded = new Map<number, Unrecorded>();
  /** Since when claiming rows fails (logged once, not at every poll). */
  private claimFailingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private wakeScheduled = false;
  private stopped = true;

  constructor(private readonly options: DeliveryOptions) {
    this.now = options.now ?? Date.now;
    const t = this.now();
    for (const channel of options.channels) {
      this.buckets.set(channel.name, new TokenBucket(channel.rateLimit, t));
      this.inflight.set(channel.name, 0);
    }
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Look for work soon (after an intake, after each delivery); calls in one event-loop turn are one look. */
  wake(): void {
    if (this.stopped || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.stopped) return;
      if (this.ticking) {
        this.again = true;
        return;
      }
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
      });
    });
  }

  /**
   * Stops claiming rows, waits up to `timeoutMs` for deliveries under way, and writes the outcomes
   * still unrecorded once more. `unrecorded`: outcomes lost with this process (their rows are in flight
   * and go back to pending at the next start: a delivered one is then sent again).
   */
  async stop(timeoutMs: number): Promise<{ unfinished: number; unrecorded: number }> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.deliveries]), timeout]);
    clearTimeout(timer);
    await this.writeUnrecorded();
    return { unfinished: this.deliveries.size, unrecorded: this.unrecorded.size };
  }

  /** Why outcomes are not in the store, for /readyz; undefined when every outcome is recorded. */
  unrecordedProblem(): string | undefined {
    if (this.unrecorded.size === 0) return undefined;
    const all = [...this.unrecorded.values()];
    const paused = [...new Set(all.filter((u) => u.outcome.delivered).map((u) => u.channel))];
    const oldest = Math.min(...all.map((u) => u.since));
    const last = all.at(-1) as Unrecorded;
    return (
      `${all.length} delivery outcome(s) not recorded for ${Math.round((this.now() - oldest) / 1000)} s: ${last.error}` +
      (paused.length > 0 ? `; nothing more is sent to ${paused.join(', ')} until they are` : '')
    );
  }

  /** A destination took a delivery whose outcome is not written yet: send it nothing more until it is. */
  private paused(channel: string): boolean {
    for (const u of this.unrecorded.values()) if (u.channel === channel && u.outcome.delivered) return true;
    return false;
  }

  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    let nextAt = this.now() + this.options.pollIntervalMs;
    await this.writeUnrecorded();
    try {
      do {
        this.again = false;
        for (const channel of this.options.channels) {
          if (this.paused(channel.name)) continue;
          const t = this.now();
          const bucket = this.buckets.get(channel.name) as TokenBucket;
          const free = channel.concurrency - (this.inflight.get(channel.name) ?? 0);
          if (free <= 0) continue;
          const tokens = bucket.available(t);
          if (tokens < 1) {
            nextAt = Math.min(nextAt, bucket.nextAt(t));
            continue;
          }
          const want = Math.min(free, tokens);
          const rows = await this.options.store.claim(channel.name, want, t, channel.rateLimit);
          for (const row of rows) {
            bucket.take(t);
            this.launch(channel, row);
          }
          if (rows.length < want) {
            const due = await this.options.store.nextDue(channel.name);
            if (due !== undefined && due > t) nextAt = Math.min(nextAt, due);
          }
        }
      } while (this.again && !this.stopped);
      if (this.claimFailingSince !== undefined) {
        this.options.logger.info('delivery loop: the outbox can be read and claimed again');
        this.claimFailingSince = undefined;
      }
    } catch (err) {
      this.options.metrics.storeWriteFailures.inc({ operation: 'claim' });
      if (this.claimFailingSince === undefined) {
        this.claimFailingSince = this.now();
        this.options.logger.error(
          { err: (err as Error).message },
          'delivery loop: cannot claim rows from the outbox; trying again at every poll',
        );
      }
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => this.wake(), Math.max(5, nextAt - this.now()));
    }
  }

  private launch(channel: Channel, row: OutboxRow): void {
    this.inflight.set(channel.name, (this.inflight.get(channel.name) ?? 0) + 1);
    const delivery: Promise<void> = this.deliver(channel, row)
      .catch((err: Error) => {
        // A defect, not a delivery failure: put the row back rather than strand it in flight.
        this.options.logger.error(
          { channel: channel.name, row: row.id, err: err.message },
          'delivery failed unexpectedly; the row goes back to pending',
        );
        return this.settle(channel, row, {
          operation: 'release',
          delivered: false,
          write: () => this.options.store.release(row, this.now() + this.options.pollIntervalMs, err.message),
        });
      })
      .finally(() => {
        this.inflight.set(channel.name, (this.inflight.get(channel.name) ?? 1) - 1);
        this.deliveries.delete(delivery);
        this.wake();
      });
    this.deliveries.add(delivery);
  }

  private async deliver(channel: Channel, row: OutboxRow): Promise<void> {
    if (row.part) return this.deliverPart(channel, row, row.part);
    if (channel.handle) return this.deliverRequest(channel, row, channel.handle.bind(channel));
    const { store, metrics, logger } = this.options;
    const started = this.now();
    let view: GroupView;
    try {
      view = await this.options.viewOf(row);
    } catch (err) {
      const reason = `cannot read the stored notification: ${(err as Error).message}`;
      metrics.deadLettered.inc({ channel: channel.name });
      logger.error({ channel: channel.name, row: row.id, err: reason }, 'notification dead-lettered');
      await this.settle(channel, row, {
        operation: 'dead_letter',
        delivered: false,
        write: () => store.deadLetter(row, reason, started, { at: started }),
      });
      return;
    }
    // What the delivery log says of this row (receiver/src/ui/, outbox list).
    const about = { title: view.title };
    const log = logger.child({
      channel: channel.name,
      group: view.identity,
      group_id: row.groupId,
      row: row.id,
    });
    const read = await this.recordOf(channel, row, log);
    if (!read) return;
    const { record } = read;
    const plan = planDelivery(view, record, row.reminder, started);
    if (plan.skip) {
      metrics.deduplicated.inc({ channel: channel.name, stage: 'delivery' });
      log.info({ reason: plan.reason }, 'nothing to send');
      await this.settle(channel, row, {
        operation: 'complete',
        delivered: false,
        write: () => store.complete(row, undefined, [], { at: started, ...about, skipped: true }),
      });
      return;
    }
    const event = { ...plan.event, delivery: this.attemptOf(channel, row) };
    let ref: Awaited<ReturnType<Channel['send']>>;
    let followUps: FollowUp[] = [];
    try {
      ref = await channel.send(event, record?.ref);
    } catch (err) {
      if (!(err instanceof PartlyDelivered)) {
        await this.failed(
          channel,
          row,
          err,
          log.child({ kind: event.kind }),
          { ...about, kind: event.kind },
          record,
        );
        return;
      }
      ref = err.ref;
      followUps = this.followUps(channel, err, log);
    }
    const done = this.now();
    metrics.sent.inc({ channel: channel.name, kind: event.kind });
    metrics.latency.observe({ channel: channel.name }, Math.max(0, done - row.createdAt) / 1000);
    log.info(
      {
        kind: event.kind,
        status: view.status,
        attempts: row.attempts + 1,
        latency_ms: done - row.createdAt,
      },
      'notification sent',
    );
    const next = nextRecord(event, record, ref);
    await this.settle(channel, row, {
      operation: 'complete',
      delivered: true,
      write: () => store.complete(row, next, followUps, { at: done, ...about, kind: event.kind }),
    });
  }

  /**
   * The group's delivery record; undefined when the store cannot be read, after the row went back to
   * pending (nothing was sent).
   */
  private async recordOf(
    channel: Channel,
    row: OutboxRow,
    log: Logger,
  ): Promise<{ record: DeliveryRecord | undefined } | undefined> {
    const { store } = this.options;
    try {
      return { record: await store.record(channel.name, row.groupId) };
    } catch (err) {
      const reason = `cannot read the delivery record: ${(err as Error).message}`;
      log.warn({ err: reason }, 'nothing sent; the row goes back to pending');
      await this.settle(channel, row, {
        operation: 'release',
        delivered: false,
        write: () => store.release(row, this.now() + this.options.pollIntervalMs, reason),
      });
      return undefined;
    }
  }

  /** What a channel may know of a row's delivery (the same for every attempt but `attempt`). */
  private attemptOf(channel: Channel, row: OutboxRow): DeliveryAttempt {
    const { metrics, maxAgeMs } = this.options;
    return {
      id: deliveryId(row),
      attempt: row.attempts + 1,
      queuedAt: row.createdAt,
      deadline: (row.retriedAt ?? row.createdAt) + maxAgeMs,
      lookedUp: (result: LookupResult) => metrics.lookups.inc({ channel: channel.name, result }),
    };
  }

  /**
   * A row of an internal channel (a Slack click): its request is handed to the channel with what the
   * channel kept for the group; what it returns is kept in the group's record.
   */
  private async deliverRequest(
    channel: Channel,
    row: OutboxRow,
    handle: NonNullable<Channel['handle']>,
  ): Promise<void> {
    const { store, logger } = this.options;
    const log = logger.child({ channel: channel.name, group_id: row.groupId, row: row.id });
    const read = await this.recordOf(channel, row, log);
    if (!read) return;
    const { record } = read;
    let handled: HandledRequest;
    try {
      handled = await handle({
        payload: row.payload,
        state: record?.ref,
        delivery: this.attemptOf(channel, row),
      });
    } catch (err) {
      await this.failed(channel, row, err, log, { title: `request ${row.id}` });
      return;
    }
    const done = this.now();
    const next = handled.state && openRecord(handled.state, record, done);
    if (handled.skipped) log.info({ reason: handled.skipped, title: handled.title }, 'nothing to do');
    else {
      this.options.metrics.sent.inc({ channel: channel.name, kind: 'request' });
      log.info({ title: handled.title, attempts: row.attempts + 1 }, 'request handled');
    }
    await this.settle(channel, row, {
      operation: 'complete',
      delivered: handled.skipped === undefined,
      write: () =>
        store.complete(row, next, [], {
          at: done,
          title: handled.title,
          ...(handled.skipped !== undefined ? { skipped: true } : {}),
        }),
    });
  }

  /** A follow-up row: the part a partial delivery left, delivered alone (no planning, no record). */
  private async deliverPart(
    channel: Channel,
    row: OutboxRow,
    part: NonNullable<OutboxRow['part']>,
  ): Promise<void> {
    const log = this.options.logger.child({
      channel: channel.name,
      group_id: row.groupId,
      row: row.id,
      target: part.target,
    });
    const about = { title: `part for ${part.target}` };
    try {
      if (!channel.sendPart)
        throw new ChannelError(`channel type ${channel.type} cannot deliver a part`, false);
      await channel.sendPart(part.data);
    } catch (err) {
      await this.failed(channel, row, err, log, about);
      return;
    }
    this.options.metrics.sent.inc({ channel: channel.name, kind: 'part' });
    log.info({ attempts: row.attempts + 1 }, 'notification sent');
    const done = this.now();
    await this.settle(channel, row, {
      operation: 'complete',
      delivered: true,
      write: () => this.options.store.complete(row, undefined, [], { at: done, ...about }),
    });
  }

  /** The rows a partial delivery leaves: each refused recipient retried alone, or dead-lettered. */
  private followUps(channel: Channel, partial: PartlyDelivered, log: Logger): FollowUp[] {
    const { metrics, backoff, random } = this.options;
    const t = this.now();
    return partial.parts.map((p) => {
      metrics.recipientsRefused.inc({
        channel: channel.name,
        class: p.retryable ? 'temporary' : 'permanent',
      });
      if (p.retryable) {
        log.warn({ target: p.target, err: p.error }, 'recipient refused for now: it will be retried alone');
        return { target: p.target, data: p.part, at: t + retryDelay(backoff, 1, undefined, random) };
      }
      metrics.deadLettered.inc({ channel: channel.name });
      log.warn({ target: p.target, err: p.error }, 'recipient refused: dead-lettered, the others got it');
      return { target: p.target, data: p.part, at: t, deadError: `${p.target} refused: ${p.error}` };
    });
  }

  /** Nothing was delivered: retry later, or dead-letter (permanent error, or older than max_age). */
  private async failed(
    channel: Channel,
    row: OutboxRow,
    err: unknown,
    log: Logger,
    about: Omit<DeliveryNote, 'at'>,
    record?: DeliveryRecord,
  ): Promise<void> {
    const { store, metrics } = this.options;
    const failure =
      err instanceof ChannelError
        ? err
        : new ChannelError(`unexpected error: ${(err as Error)?.message ?? String(err)}`, true, undefined, {
            cause: err,
          });
    const t = this.now();
    const attempts = row.attempts + 1;
    metrics.failed.inc({ channel: channel.name, class: failure.retryable ? 'retryable' : 'permanent' });
    if (failure.retryAfterMs !== undefined) {
      (this.buckets.get(channel.name) as TokenBucket).block(t + failure.retryAfterMs, t);
      metrics.rateLimited.inc({ channel: channel.name });
      // Other receivers on a shared store wait too (best effort: the row's own retry waits anyway).
      store
        .pause(channel.name, t + failure.retryAfterMs, t, channel.rateLimit)
        .catch((err: Error) =>
          log.warn({ err: err.message }, 'cannot share the Retry-After pause with other receivers'),
        );
    }
    // An operator's retry starts the clock again.
    const tooOld = t - (row.retriedAt ?? row.createdAt) >= this.options.maxAgeMs;
    const note = { at: t, ...about };
    if (!failure.retryable || tooOld) {
      const reason = failure.retryable
        ? `older than delivery.max_age; last error: ${failure.message}`
        : failure.message;
      metrics.deadLettered.inc({ channel: channel.name });
      log.error(
        { attempts, err: failure.message, permanent: !failure.retryable },
        'notification dead-lettered',
      );
      await this.settle(channel, row, {
        operation: 'dead_letter',
        delivered: false,
        write: () => store.deadLetter(row, reason, t, note),
      });
      return;
    }
    const delay = retryDelay(this.options.backoff, attempts, failure.retryAfterMs, this.options.random);
    // What the channel asked to keep (a ticket create of unknown outcome) stands for the group as open.
    const keep = failure.keep && openRecord(failure.keep, record, t);
    metrics.retried.inc({ channel: channel.name });
    log.warn({ attempts, err: failure.message, retry_in_ms: delay }, 'delivery failed; will retry');
    await this.settle(channel, row, {
      operation: 'reschedule',
      delivered: false,
      write: () => store.reschedule(row, t + delay, failure.message, keep, note),
    });
  }

  /** Writes a row's outcome; when the store refuses, keeps it to write again (never to send again). */
  private async settle(channel: Channel, row: OutboxRow, outcome: Outcome): Promise<void> {
    try {
      await outcome.write();
    } catch (err) {
      const error = (err as Error).message;
      this.options.metrics.storeWriteFailures.inc({ operation: outcome.operation });
      this.unrecorded.set(row.id, {
        channel: channel.name,
        row,
        outcome,
        since: this.now(),
        attempts: 1,
        error,
      });
      const fields = { channel: channel.name, row: row.id, group_id: row.groupId, err: error };
      if (outcome.delivered) {
        this.countUnrecorded(channel.name);
        this.options.logger.error(
          fields,
          'the destination took the notification but the outbox cannot record it: writing the outcome again, never sending it again; nothing more goes to this destination until it is written',
        );
      } else {
        this.options.logger.warn(
          { ...fields, outcome: outcome.operation },
          'the outbox cannot record the delivery outcome: the row stays in flight and the write is retried',
        );
      }
    }
  }

  /** Writes the kept outcomes again; each one written leaves the map. */
  private async writeUnrecorded(): Promise<void> {
    for (const [id, u] of this.unrecorded) {
      try {
        await u.outcome.write();
      } catch (err) {
        u.attempts++;
        u.error = (err as Error).message;
        this.options.metrics.storeWriteFailures.inc({ operation: u.outcome.operation });
        continue;
      }
      this.unrecorded.delete(id);
      if (u.outcome.delivered) this.countUnrecorded(u.channel);
      this.options.logger.info(
        { channel: u.channel, row: id, outcome: u.outcome.operation, write_attempts: u.attempts + 1 },
        'delivery outcome recorded',
      );
    }
  }

  private countUnrecorded(channel: string): void {
    let count = 0;
    for (const u of this.unrecorded.values()) if (u.channel === channel && u.outcome.delivered) count++;
    this.options.metrics.unrecorded.set({ channel }, count);
  }
}

/** An outcome the store must record for a claimed row. */
interface Outcome {
  operation: 'complete' | 'reschedule' | 'dead_letter' | 'release';
  /** The destination took the delivery: until this is written, nothing more is sent there. */
  delivered: boolean;
  write: () => Promise<void>;
}

interface Unrecorded {
  channel: string;
  row: OutboxRow;
  outcome: Outcome;
  since: number;
  /** Writes tried so far. */
  attempts: number;
  error: string;
}

/** The same for every attempt of a row, unique among rows (and among stores, with the time). */
export function deliveryId(row: OutboxRow): string {
  return `${row.id}-${row.createdAt.toString(36)}`;
}

/** A record that keeps `ref` for the group as open, showing no alerts of its own. */
function openRecord(ref: ChannelRef, previous: DeliveryRecord | undefined, at: number): DeliveryRecord {
  return { state: 'open', ref, firing: [], openedAt: previous?.openedAt ?? at, updatedAt: at };
}
