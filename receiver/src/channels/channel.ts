// The contract between the outbox and the destinations: what every channel implements and what it is
// given. Like Alertmanager's notifiers: one folder per integration, a pure render and an I/O send, and
// the send's errors classified retryable or permanent here, once. The outbox imports this module and
// the channels import this module; neither imports the other.
import type { AlertView, GroupView } from '../notification.js';
import type { Block as DocBlock } from './doc.js';

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
  /** Which delivery this is, when the outbox makes it (absent in `render` and `test-send`). */
  delivery?: DeliveryAttempt;
}

/** One outbox row's delivery, as a channel may tell the peer about it and ask about it later. */
export interface DeliveryAttempt {
  /** The same for every attempt of one outbox row, unique among rows: what a peer can be asked for. */
  id: string;
  /**
   * 1 for the first attempt. A later attempt may follow one whose outcome is unknown (a timeout after
   * the peer took the request): before sending again, a channel that can should look it up.
   */
  attempt: number;
  /** When the row was queued: nothing of this delivery can have reached the peer before. */
  queuedAt: number;
  /**
   * When the row is given up if this attempt fails too (delivery.max_age after it was queued or an
   * operator retried it): a channel that tells people about a retry can say it was the last one.
   */
  deadline?: number;
  /** Counts a look-up of an earlier attempt at the peer (metrics). */
  lookedUp?: (result: LookupResult) => void;
}

/** A look-up found the earlier attempt (not sent again), did not (sent again), or failed (retried). */
export type LookupResult = 'found' | 'absent' | 'failed';

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

/** What is left of a delivery a destination took for some recipients only (see PartlyDelivered). */
export interface RemainingPart {
  /** Who the part is for, such as a mail address: named in logs and dead letters. */
  target: string;
  /** What `sendPart` needs to deliver it alone later, as JSON. */
  part: ChannelRef;
  /** The destination's words. */
  error: string;
  /** True: the part is retried alone later. False: it is dead-lettered (reported) now. */
  retryable: boolean;
}

/**
 * Thrown by `send` when the destination took the delivery for some recipients and refused others (an
 * SMTP server refusing one RCPT TO). The delivery counts as sent — `ref` is kept as for a full one —
 * and each remaining part is queued alone or dead-lettered, so nobody who got it gets it twice.
 */
export class PartlyDelivered extends Error {
  override name = 'PartlyDelivered';

  constructor(
    readonly ref: ChannelRef | undefined,
    readonly parts: RemainingPart[],
  ) {
    super(`delivered except to ${parts.map((p) => p.target).join(', ')}`);
  }
}

/**
 * A stored request that is not an alert notification — a click in Slack — for the internal channel that
 * acts on it. `state` is what that channel kept for the row's group (its delivery record's ref).
 */
export interface StoredRequest {
  payload: string;
  state: ChannelRef | undefined;
  delivery: DeliveryAttempt;
}

export interface HandledRequest {
  /** What to keep for the row's group (undefined: keep what there is). */
  state?: ChannelRef;
  /** The delivery log's words for it: `snooze 3d by U0123 · CalicoLicenseExpiringSoon cluster=prod`. */
  title: string;
  /** Nothing was done, and why (a replayed click): logged `skipped`. */
  skipped?: string;
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
   * the previous one). Throws ChannelError; PartlyDelivered when only some recipients took it; any
   * other error counts as retryable.
   */
  send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined>;
  /** Delivers a part `send` left (see PartlyDelivered), alone. Throws ChannelError. */
  sendPart?(part: ChannelRef): Promise<void>;
  /**
   * An internal channel's rows are requests, not notifications (see StoredRequest): the delivery loop
   * hands them here instead of planning a delivery. Throws ChannelError like `send`.
   */
  handle?(request: StoredRequest): Promise<HandledRequest>;
  /**
   * Adds a note (a document) to what the destination shows for a group — a comment on its ticket —
   * given the group's ref. Throws ChannelError.
   */
  annotate?(ref: ChannelRef, note: DocBlock[]): Promise<void>;
  close(): Promise<void>;
}
