// The delivery loop: claims due rows per destination within its rate limit and concurrency, plans what
// each means for the destination (new message, update, resolve, reminder), calls the channel and
// records the outcome — delivered, retried later (backoff with jitter, or the destination's
// Retry-After, which also pauses the whole destination), or dead-lettered (permanent error, or older
// than the maximum age). Only this loop calls channels.
import type { Logger } from 'pino';
import { type Channel, ChannelError } from '../channels/channel.js';
import type { ReceiverMetrics } from '../metrics.js';
import type { GroupView } from '../notification.js';
import { type BackoffPolicy, retryDelay } from './backoff.js';
import { type DeliveryRecord, nextRecord, planDelivery } from './plan.js';
import { TokenBucket } from './rate-limit.js';
import type { OutboxRow, OutboxStore } from './store.js';

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

  /** Stops claiming rows and waits up to `timeoutMs` for deliveries under way. */
  async stop(timeoutMs: number): Promise<{ unfinished: number }> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.deliveries]), timeout]);
    clearTimeout(timer);
    return { unfinished: this.deliveries.size };
  }

  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    let nextAt = this.now() + this.options.pollIntervalMs;
    try {
      do {
        this.again = false;
        for (const channel of this.options.channels) {
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
          const rows = await this.options.store.claim(channel.name, want, t);
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
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'delivery loop: cannot read the outbox');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => this.wake(), Math.max(5, nextAt - this.now()));
    }
  }

  private launch(channel: Channel, row: OutboxRow): void {
    this.inflight.set(channel.name, (this.inflight.get(channel.name) ?? 0) + 1);
    const delivery: Promise<void> = this.deliver(channel, row)
      .catch((err: Error) =>
        this.options.logger.error(
          { channel: channel.name, row: row.id, err: err.message },
          'delivery bookkeeping failed',
        ),
      )
      .finally(() => {
        this.inflight.set(channel.name, (this.inflight.get(channel.name) ?? 1) - 1);
        this.deliveries.delete(delivery);
        this.wake();
      });
    this.deliveries.add(delivery);
  }

  private async deliver(channel: Channel, row: OutboxRow): Promise<void> {
    const { store, metrics, logger } = this.options;
    const started = this.now();
    let view: GroupView;
    try {
      view = await this.options.viewOf(row);
    } catch (err) {
      const reason = `cannot read the stored notification: ${(err as Error).message}`;
      await store.deadLetter(row, reason, started, { at: started });
      metrics.deadLettered.inc({ channel: channel.name });
      logger.error(
        { channel: channel.name, row: row.id, err: (err as Error).message },
        'notification dead-lettered',
      );
      return;
    }
    const log = logger.child({
      channel: channel.name,
      group: view.identity,
      group_id: row.groupId,
      row: row.id,
    });
    const record = await store.record(channel.name, row.groupId);
    const plan = planDelivery(view, record, row.reminder, started);
    const title = view.title;
    if (plan.skip) {
      await store.complete(row, undefined, { at: started, title });
      metrics.deduplicated.inc({ channel: channel.name, stage: 'delivery' });
      log.info({ reason: plan.reason }, 'nothing to send');
      return;
    }
    const { event } = plan;
    try {
      const ref = await channel.send(event, record?.ref);
      const done = this.now();
      await store.complete(row, nextRecord(event, record, ref), { at: done, kind: event.kind, title });
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
    } catch (err) {
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
      }
      // An operator's retry starts the clock again.
      const tooOld = t - (row.retriedAt ?? row.createdAt) >= this.options.maxAgeMs;
      const note = { at: t, kind: event.kind, title };
      if (!failure.retryable || tooOld) {
        const reason = failure.retryable
          ? `older than delivery.max_age; last error: ${failure.message}`
          : failure.message;
        await store.deadLetter(row, reason, t, note);
        metrics.deadLettered.inc({ channel: channel.name });
        log.error(
          { kind: event.kind, attempts, err: failure.message, permanent: !failure.retryable },
          'notification dead-lettered',
        );
        return;
      }
      const delay = retryDelay(this.options.backoff, attempts, failure.retryAfterMs, this.options.random);
      // What the channel asked to keep (a ticket create of unknown outcome) stands for the group as open.
      const keep: DeliveryRecord | undefined = failure.keep && {
        state: 'open',
        ref: failure.keep,
        firing: [],
        openedAt: record?.openedAt ?? t,
        updatedAt: t,
      };
      await store.reschedule(row, t + delay, failure.message, keep, note);
      metrics.retried.inc({ channel: channel.name });
      log.warn(
        { kind: event.kind, attempts, err: failure.message, retry_in_ms: delay },
        'delivery failed; will retry',
      );
    }
  }
}
