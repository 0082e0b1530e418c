// The receiver's metrics, on one registry passed in. Outbox depth and age are read from the store at
// scrape time, so they are right after a restart too.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { OutboxStore } from './outbox/store.js';

export interface ReceiverMetrics {
  registry: Registry;
  webhooks: Counter<'code'>;
  sent: Counter<'channel' | 'kind'>;
  failed: Counter<'channel' | 'class'>;
  retried: Counter<'channel'>;
  deadLettered: Counter<'channel'>;
  deduplicated: Counter<'channel' | 'stage'>;
  rateLimited: Counter<'channel'>;
  latency: Histogram<'channel'>;
  unrecorded: Gauge<'channel'>;
  storeWriteFailures: Counter<'operation'>;
  recipientsRefused: Counter<'channel' | 'class'>;
  lookups: Counter<'channel' | 'result'>;
  takenOver: Counter<'channel'>;
}

export function createMetrics(options: {
  store: OutboxStore;
  channels: readonly string[];
  version: string;
  now?: () => number;
}): ReceiverMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics: ReceiverMetrics = {
    registry,
    webhooks: new Counter({
      name: 'license_receiver_webhook_requests_total',
      help: 'Webhook requests answered, by HTTP status code.',
      labelNames: ['code'],
      registers,
    }),
    sent: new Counter({
      name: 'license_receiver_notifications_sent_total',
      help: 'Notifications delivered, by channel and kind (new, update, resolve, reminder).',
      labelNames: ['channel', 'kind'],
      registers,
    }),
    failed: new Counter({
      name: 'license_receiver_notifications_failed_total',
      help: 'Failed delivery attempts, by channel and class (retryable, permanent).',
      labelNames: ['channel', 'class'],
      registers,
    }),
    retried: new Counter({
      name: 'license_receiver_notifications_retried_total',
      help: 'Deliveries scheduled for another attempt.',
      labelNames: ['channel'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'license_receiver_notifications_dead_lettered_total',
      help: 'Notifications given up on (permanent error or older than delivery.max_age).',
      labelNames: ['channel'],
      registers,
    }),
    deduplicated: new Counter({
      name: 'license_receiver_notifications_deduplicated_total',
      help: 'Notifications not sent because they were already sent: at intake (same content within the dedupe window), stale (a late retry showing firing what the group resolved since) or at delivery (nothing left to show).',
      labelNames: ['channel', 'stage'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'license_receiver_rate_limited_total',
      help: 'Answers from a destination that asked to slow down (HTTP 429 / Retry-After).',
      labelNames: ['channel'],
      registers,
    }),
    latency: new Histogram({
      name: 'license_receiver_delivery_latency_seconds',
      help: 'From acceptance of the webhook to delivery, by channel.',
      labelNames: ['channel'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    unrecorded: new Gauge({
      name: 'license_receiver_unrecorded_deliveries',
      help: 'Deliveries a destination accepted whose outcome the store could not record yet (the write is retried, never the send). While above 0 nothing more is sent to that destination.',
      labelNames: ['channel'],
      registers,
    }),
    storeWriteFailures: new Counter({
      name: 'license_receiver_store_write_failures_total',
      help: 'Writes to the outbox store that failed (full disk, I/O error), by operation.',
      labelNames: ['operation'],
      registers,
    }),
    recipientsRefused: new Counter({
      name: 'license_receiver_recipients_refused_total',
      help: 'Recipients a destination refused while taking the notification for others (SMTP RCPT TO), by class: temporary (retried alone) or permanent (dead-lettered).',
      labelNames: ['channel', 'class'],
      registers,
    }),
    lookups: new Counter({
      name: 'license_receiver_delivery_lookups_total',
      help: 'Look-ups at a destination of a delivery whose outcome was unknown (a timeout), by result: found (not sent again), absent (sent again), failed (looked up again later).',
      labelNames: ['channel', 'result'],
      registers,
    }),
    takenOver: new Counter({
      name: 'license_receiver_deliveries_taken_over_total',
      help: 'Rows another receiver sharing the store held in flight and stopped renewing the lease of, taken over by this one: each is sent again (at most one resend of a delivery whose outcome was unknown).',
      labelNames: ['channel'],
      registers,
    }),
  };
  for (const channel of options.channels) {
    metrics.sent.labels(channel, 'new');
    metrics.failed.labels(channel, 'retryable');
    metrics.failed.labels(channel, 'permanent');
    metrics.retried.labels(channel);
    metrics.deadLettered.labels(channel);
    metrics.deduplicated.labels(channel, 'intake');
    metrics.rateLimited.labels(channel);
    metrics.takenOver.labels(channel);
    metrics.unrecorded.set({ channel }, 0);
  }

  new Gauge({
    name: 'license_receiver_outbox_rows',
    help: 'Outbox rows by channel and state (pending, inflight, dead).',
    labelNames: ['channel', 'state'],
    registers,
    async collect() {
      const stats = await options.store.stats().catch(() => []);
      this.reset();
      for (const channel of options.channels)
        for (const state of ['pending', 'inflight', 'dead']) this.set({ channel, state }, 0);
      for (const s of stats) {
        this.set({ channel: s.channel, state: 'pending' }, s.pending);
        this.set({ channel: s.channel, state: 'inflight' }, s.inflight);
        this.set({ channel: s.channel, state: 'dead' }, s.dead);
      }
    },
  });
  new Gauge({
    name: 'license_receiver_outbox_oldest_age_seconds',
    help: 'Age of the oldest notification not yet delivered, by channel (0 when none).',
    labelNames: ['channel'],
    registers,
    async collect() {
      const stats = await options.store.stats().catch(() => []);
      this.reset();
      for (const channel of options.channels) this.set({ channel }, 0);
      for (const s of stats)
        this.set(
          { channel: s.channel },
          s.oldestCreatedAt === undefined ? 0 : Math.max(0, (now() - s.oldestCreatedAt) / 1000),
        );
    },
  });
  new Gauge({
    name: 'license_receiver_build_info',
    help: 'Build information; always 1.',
    labelNames: ['version', 'nodejs_version'],
    registers,
  }).set({ version: options.version, nodejs_version: process.version }, 1);
  return metrics;
}
