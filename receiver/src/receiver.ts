// Wires the receiver together: store, channels, metrics, intake, delivery loop, HTTP server.
import type { Logger } from 'pino';
import { type Channel, createChannel } from './channels/index.js';
import type { ReceiverConfig } from './config.js';
import { Intake, viewFactory } from './intake.js';
import { interactionsEndpoint } from './interactions/endpoint.js';
import { SlackInteractions } from './interactions/index.js';
import { createMetrics, type ReceiverMetrics } from './metrics.js';
import type { GroupView } from './notification.js';
import { DeliveryLoop } from './outbox/delivery.js';
import { describeStore, openReceiverStore } from './outbox/open.js';
import type { SqliteOptions } from './outbox/sqlite.js';
import type { OutboxRow, OutboxStore } from './outbox/store.js';
import { CurrentValues } from './prometheus.js';
import { startServer } from './server.js';
import { createStatusUi } from './ui/index.js';
import { VERSION } from './version.js';

export interface RunningReceiver {
  url: string;
  store: OutboxStore;
  metrics: ReceiverMetrics;
  stop(): Promise<void>;
}

export interface ReceiverOptions {
  now?: () => number;
  /** Channels to use instead of those built from the config (tests). */
  channels?: Channel[];
  /** Opens the SQLite store instead of its thread (tests wrap it to inject faults). */
  openStore?: (options: SqliteOptions) => Promise<OutboxStore>;
  /** Resolves when the process is asked to stop: gives up waiting for PostgreSQL at start. */
  stopped?: Promise<unknown>;
}

/**
 * Views of resolved groups carry the licence values now, from Prometheus, when `prometheus_url` is
 * set (bounded by prometheus_timeout; without them when Prometheus cannot answer).
 */
function withCurrentValues(
  viewOf: ReturnType<typeof viewFactory>,
  config: ReceiverConfig,
  logger: Logger,
  now: () => number,
): (row: OutboxRow) => GroupView | Promise<GroupView> {
  if (!config.prometheus) return viewOf;
  const values = new CurrentValues(
    config.prometheus.url,
    config.prometheus.timeoutMs,
    config.clusterLabel,
    logger,
  );
  return async (row) => {
    const view = viewOf(row);
    if (view.status !== 'resolved') return view;
    const current = await values.of(view, now());
    if (current) view.current = current;
    return view;
  };
}

export async function startReceiver(
  config: ReceiverConfig,
  logger: Logger,
  options: ReceiverOptions = {},
): Promise<RunningReceiver> {
  const now = options.now ?? Date.now;
  // The metrics come with the store; rows taken over before they exist are counted once they do.
  let takenOver: ((channel: string, rows: number) => void) | undefined;
  const early: [string, number][] = [];
  const store = await openReceiverStore(config.store, logger, {
    ...(options.openStore ? { openSqlite: options.openStore } : {}),
    ...(options.stopped ? { stopped: options.stopped } : {}),
    onTakenOver: (channel, rows) => (takenOver ? takenOver(channel, rows) : early.push([channel, rows])),
  });
  try {
    const running = await startOn(store, config, logger, options, now);
    takenOver = (channel, rows) => running.metrics.takenOver.inc({ channel }, rows);
    for (const [channel, rows] of early.splice(0)) takenOver(channel, rows);
    return running;
  } catch (err) {
    // Ends the store thread too: a process that cannot start must exit, not hold the database lock.
    await store.close().catch(() => {});
    throw err;
  }
}

async function startOn(
  store: OutboxStore,
  config: ReceiverConfig,
  logger: Logger,
  options: ReceiverOptions,
  now: () => number,
): Promise<RunningReceiver> {
  const recovered = await store.recover();
  if (recovered > 0)
    logger.warn(
      { rows: recovered },
      'rows were in flight when the receiver last stopped: they will be sent again',
    );
  const notifying = options.channels ?? config.channels.map((c) => createChannel(c, logger));
  // Slack clicks are rows of an internal channel, delivered by the same loop (receiver/src/interactions/).
  const interactions =
    config.slackInteractivity &&
    new SlackInteractions(
      config.slackInteractivity,
      store,
      notifying,
      logger.child({ component: 'slack-interactivity' }),
      now,
    );
  const channels = interactions ? [...notifying, interactions] : notifying;
  const metrics = createMetrics({ store, channels: channels.map((c) => c.name), version: VERSION, now });
  const intake = new Intake(
    store,
    {
      routes: config.routes,
      defaultChannels: config.defaultChannels,
      dedupeWindowMs: config.dedupeWindowMs,
      ...(config.groupIdentityTemplate !== undefined
        ? { groupIdentityTemplate: config.groupIdentityTemplate }
        : {}),
    },
    metrics,
    now,
  );
  const loop = new DeliveryLoop({
    store,
    channels,
    metrics,
    logger,
    viewOf: withCurrentValues(viewFactory(config), config, logger, now),
    backoff: config.delivery.backoff,
    maxAgeMs: config.delivery.maxAgeMs,
    pollIntervalMs: config.delivery.pollIntervalMs,
    now,
  });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      config,
      intake,
      metrics,
      logger,
      // Ready when the store takes writes now and every delivery outcome is recorded.
      storeReady: async () => {
        const problem = loop.unrecordedProblem();
        if (problem) throw new Error(problem);
        try {
          await store.checkWritable(now());
        } catch (err) {
          metrics.storeWriteFailures.inc({ operation: 'check' });
          throw new Error(`cannot write: ${(err as Error).message}`);
        }
      },
      onAccepted: () => loop.wake(),
      ...(interactions && config.slackInteractivity
        ? {
            interactions: {
              path: config.slackInteractivity.path,
              handler: interactionsEndpoint({
                signingSecret: config.slackInteractivity.signingSecret,
                store,
                knows: (channel) => interactions.knows(channel),
                logger: logger.child({ component: 'slack-interactivity' }),
                maxBodyBytes: config.limits.maxBodyBytes,
                onAccepted: () => loop.wake(),
                now,
              }),
            },
          }
        : {}),
      ...(config.ui
        ? {
            ui: createStatusUi({
              config: { ...config, ui: config.ui },
              store,
              channels,
              version: VERSION,
              logger,
              wake: () => loop.wake(),
              now,
            }),
          }
        : {}),
    });
  } catch (err) {
    await Promise.allSettled(channels.map((c) => c.close()));
    throw err;
  }
  loop.start();
  const prune = setInterval(
    () => {
      store
        .prune(now() - config.delivery.retentionMs)
        .catch((err: Error) => logger.warn({ err: err.message }, 'pruning old records failed'));
    },
    Math.min(3_600_000, config.delivery.retentionMs),
  );
  prune.unref();
  if (!config.auth)
    logger.warn('no auth configured: anyone who can reach the listen address can post alerts');
  logger.info(
    {
      url: server.url,
      channels: channels.map((c) => `${c.name} (${c.type})`),
      store: describeStore(config.store),
      version: VERSION,
    },
    'license-receiver serving',
  );

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    store,
    metrics,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(prune);
        await server.close();
        const { unfinished, unrecorded } = await loop.stop(config.delivery.shutdownTimeoutMs);
        if (unfinished > 0)
          logger.warn(
            { rows: unfinished },
            'deliveries still under way at shutdown: they will be sent again at the next start',
          );
        if (unrecorded > 0)
          logger.error(
            { rows: unrecorded },
            'delivery outcomes the store could not record: those rows will be sent again at the next start',
          );
        await Promise.allSettled(channels.map((c) => c.close()));
        await store.close();
      })();
      return stopping;
    },
  };
}
