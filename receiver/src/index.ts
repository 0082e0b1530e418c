// The receiver as a library: what tests, the benchmark and a later PostgreSQL store build on.
export { type AlertmanagerPayload, parseWebhookPayload } from './alertmanager.js';
export { type Channel, ChannelError, type WireRequest } from './channels/channel.js';
export { createChannel } from './channels/index.js';
export { ConfigError, loadConfig, parseConfig, type ReceiverConfig } from './config.js';
export { createMetrics, type ReceiverMetrics } from './metrics.js';
export { buildGroupView, type GroupView } from './notification.js';
export { DeliveryLoop } from './outbox/delivery.js';
export { contentKey, groupIdentity } from './outbox/idempotency.js';
export { type DeliveryEvent, type DeliveryRecord, planDelivery } from './outbox/plan.js';
export { SqliteStore } from './outbox/sqlite.js';
export type { OutboxRow, OutboxStats, OutboxStore } from './outbox/store.js';
export { ThreadedSqliteStore } from './outbox/threaded.js';
export { startReceiver } from './receiver.js';
export { RunbookCatalog } from './remediation.js';
export { sampleLicencePayload } from './sample.js';
export const DEFAULT_RECEIVER_PORT = 9095;
