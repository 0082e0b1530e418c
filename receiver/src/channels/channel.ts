// The contract between the outbox and the destinations: what every channel implements and what it is
// given. Like Alertmanager's notifiers: one folder per integration, a pure render and an I/O send, and
// the send's errors classified retryable or permanent here, once. The outbox imports this module and
// the channels import this module; neither imports the other.
import type { AlertView, GroupView } from '../notification.js';

/** What a delivery is for the destination, given what it already shows for the group. */
export type EventKind = 'new' | 'update' | 'resolve' | 'reminder';

/** Channel-specific reference to what was sent (Slack channel + ts, email Message-ID…), kept as JSON. */
export type ChannelRef = Record<string, unknown>;

/** One delivery to one destination: the group now and what changed since the destination's last message. */
export interface DeliveryEvent {
  kind: EventKind;
  group: GroupView;
  /** Alerts firing now that the destination did not show as firing. */
  newlyFiring: AlertView[];
  /** Alerts shown as firing before that are resolved (or gone) now. */
  newlyResolved: AlertView[];
  /** When the destination's message for this incident was first sent (now for a new one). */
  openedAt: number;
  now: number;
}

/** Messages a destination takes: a rate per second and a burst (a token bucket in the outbox). */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export class ChannelError extends Error {
  override name = 'ChannelError';

  constructor(
    message: string,
    /** True when the same request may succeed later (network, 5xx, 429…). */
    readonly retryable: boolean,
    /** The destination's Retry-After, in milliseconds. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions & { keep?: ChannelRef },
  ) {
    super(message, options);
    if (options?.keep) this.keep = options.keep;
  }

  /**
   * A reference to store although the delivery failed: what the next attempt must know (a ticket
   * create whose outcome is unknown). Only a retryable error carries one.
   */
  readonly keep?: ChannelRef;
}

/** One request a channel would make, as it goes on the wire (for `render`). */
export interface WireRequest {
  /** e.g. `chat.postMessage`, `chat.update`, `POST <incoming webhook>`, `SMTP`, `log`. */
  action: string;
  body: unknown;
}

export interface Channel {
  readonly name: string;
  readonly type: string;
  readonly rateLimit: RateLimit;
  /** Deliveries of this channel that may be under way at once (different groups). */
  readonly concurrency: number;
  /** Pure: the requests `send` would make for this event. */
  render(event: DeliveryEvent, ref?: ChannelRef): WireRequest[];
  /**
   * Delivers the event. Returns the reference to keep for later events of the group (undefined: keep
   * the previous one). Throws ChannelError; any other error counts as retryable.
   */
  send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined>;
  close(): Promise<void>;
}
