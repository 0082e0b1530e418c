// The lifecycle every ticket channel shares (Jira, ServiceNow, GitHub): one ticket per alert group,
// found through the local delivery record first and the ticket system's search second; a comment on
// change; resolve with a comment; reopen when the group fires again within the reopen window; a new
// ticket naming the old one after the window, or when the old one was closed as "won't fix".
//
// Each system implements TicketSystem (its requests, markup and errors); this file decides which step
// to take. A create whose outcome is unknown (timeout, 5xx) is remembered: until the system's search
// lag has passed, a search that misses the ticket is not trusted and the delivery is retried instead
// of creating a second ticket.
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryEvent,
  type RateLimit,
  type WireRequest,
} from '../channel.js';
import { printJson } from '../descriptor.js';
import type { Block } from '../doc.js';
import { HttpError } from '../http.js';
import type { TicketSettings } from './config.js';
import type { CommentKind } from './content.js';

export interface TicketRef extends ChannelRef {
  /** What people call it: LIC-12, INC0010001, #42. */
  key: string;
  /** What the API addresses it by: Jira issue id, sys_id, issue number. */
  id: string;
  url: string;
  /** When this channel resolved it (ms). */
  resolvedAt?: number;
}

/** What marks a group's tickets in every system (label, correlation id): `ALERT{<group id>}`. */
export function identityLabel(event: DeliveryEvent): string {
  return `ALERT{${event.group.id}}`;
}

export function isTicketRef(ref: ChannelRef | undefined): ref is TicketRef {
  return typeof ref?.key === 'string' && typeof ref.id === 'string' && typeof ref.url === 'string';
}

/** A ticket as the system shows it now. */
export interface RemoteTicket {
  ref: TicketRef;
  open: boolean;
  /** When it was resolved or closed (ms), if it is. */
  resolvedAt?: number;
  /** Closed as "won't fix" (Jira resolution, GitHub not_planned, a ServiceNow close code). */
  wontFix: boolean;
}

/** The ticket a step wanted no longer exists (deleted, or moved where the account cannot see it). */
export class TicketGoneError extends Error {
  override name = 'TicketGoneError';
}

export type TicketStep = 'find' | 'create' | 'comment' | 'resolve' | 'reopen';

export interface TicketSystem {
  /** `Jira`, `ServiceNow`, `GitHub`: names the peer in logs and errors. */
  readonly peer: string;
  /** How long a just-created ticket may be missing from search (0: search is consistent). */
  readonly searchLagMs: number;
  /** What marks a ticket as this group's: a label, a correlation id. */
  identity(event: DeliveryEvent): string;
  /** The newest ticket with this identity, or undefined. */
  find(identity: string): Promise<RemoteTicket | undefined>;
  /** The ticket's state now; throws TicketGoneError when it no longer exists. */
  get(ref: TicketRef): Promise<RemoteTicket>;
  create(event: DeliveryEvent, identity: string, earlier?: TicketRef): Promise<TicketRef>;
  comment(ref: TicketRef, event: DeliveryEvent, kind: CommentKind): Promise<void>;
  /** Adds a note written elsewhere (who acknowledged the alert in Slack) as a comment. */
  note(ref: TicketRef, note: Block[]): Promise<void>;
  /** Resolves with a comment saying how long it fired; only the comment when it is resolved already. */
  resolve(ref: TicketRef, event: DeliveryEvent): Promise<void>;
  /** Reopens with a comment. */
  reopen(ref: TicketRef, event: DeliveryEvent): Promise<void>;
  /** Pure: the requests of a step as they go on the wire, for `render`. */
  preview(step: TicketStep, event: DeliveryEvent, ref?: TicketRef, kind?: CommentKind): WireRequest[];
}

export type NewTicketDecision =
  | { step: 'create'; earlier?: TicketRef }
  | { step: 'reopen'; ticket: TicketRef }
  | { step: 'adopt'; ticket: TicketRef };

/**
 * What to do when a group starts firing, given the newest ticket of the group (as the system shows it
 * now) and the local ref. Pure.
 */
export function decideNew(
  remote: RemoteTicket | undefined,
  local: TicketRef | undefined,
  now: number,
  reopenWindowMs: number,
): NewTicketDecision {
  if (!remote) return { step: 'create' };
  if (remote.open) return { step: 'adopt', ticket: remote.ref };
  if (remote.wontFix) return { step: 'create', earlier: remote.ref };
  const resolvedAt =
    remote.resolvedAt ?? (local && local.id === remote.ref.id ? local.resolvedAt : undefined) ?? 0;
  if (now - resolvedAt <= reopenWindowMs) return { step: 'reopen', ticket: remote.ref };
  return { step: 'create', earlier: remote.ref };
}

/** What a delivery does to the group's ticket, decided from the event and the local ref alone. */
export type TicketPlan =
  /** Find the group's ticket by its identity and resolve it if it is open (a group seen only resolved). */
  | { step: 'resolve-found' }
  /** The group fires: look its ticket up, then adopt, reopen or create (decideNew). */
  | { step: 'open' }
  | { step: 'comment'; kind: 'update' | 'reminder' }
  /** Resolve the local ticket. */
  | { step: 'resolve' }
  | { step: 'nothing' };

/** The one decision table of `send` and `render`. Pure. */
export function planTicket(
  event: DeliveryEvent,
  local: TicketRef | undefined,
  reminderComments: boolean,
): TicketPlan {
  if (event.group.status === 'resolved' && (event.kind === 'new' || !local)) return { step: 'resolve-found' };
  switch (event.kind) {
    case 'new':
      return { step: 'open' };
    case 'update':
      return local ? { step: 'comment', kind: 'update' } : { step: 'open' };
    case 'reminder':
      return local && reminderComments ? { step: 'comment', kind: 'reminder' } : { step: 'nothing' };
    case 'resolve':
      return { step: 'resolve' };
  }
}

/**
 * Kept in the group's record when a create got no answer (it may have succeeded): from then on the
 * ticket is looked up by search, and a miss is not trusted until the system's search lag has passed.
 */
interface UncertainCreate extends ChannelRef {
  uncertainCreateAt: number;
}

function uncertainSince(ref: ChannelRef | undefined): number | undefined {
  return typeof ref?.uncertainCreateAt === 'number' ? ref.uncertainCreateAt : undefined;
}

export class TicketChannel implements Channel {
  readonly name: string;
  readonly rateLimit: RateLimit;
  readonly concurrency = 1;

  constructor(
    readonly type: string,
    private readonly settings: TicketSettings,
    private readonly system: TicketSystem,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.name = settings.name;
    this.rateLimit = settings.rateLimit;
  }

  /**
   * The requests `send` would make, from the same plan. What the system shows is not asked: the local
   * ticket is taken to be as this channel left it (resolved at its resolvedAt), none to be none.
   */
  render(event: DeliveryEvent, ref?: ChannelRef): WireRequest[] {
    const local = isTicketRef(ref) ? ref : undefined;
    const s = this.system;
    const plan = planTicket(event, local, this.settings.reminderComments);
    switch (plan.step) {
      case 'resolve-found':
        return s.preview('find', event);
      case 'open':
        return this.previewOpen(event, local);
      case 'comment':
        return s.preview('comment', event, local, plan.kind);
      case 'resolve':
        return s.preview('resolve', event, local);
      case 'nothing':
        return [];
    }
  }

  /** The lookup, then adopt, reopen or create as decideNew would with the ticket as this channel left it. */
  private previewOpen(event: DeliveryEvent, local: TicketRef | undefined): WireRequest[] {
    const s = this.system;
    const assumed: RemoteTicket | undefined = local && {
      ref: local,
      open: false,
      wontFix: false,
      ...(local.resolvedAt !== undefined ? { resolvedAt: local.resolvedAt } : {}),
    };
    const decision = decideNew(assumed, local, event.now, this.settings.reopenWindowMs);
    const lookup = s.preview('find', event, local);
    switch (decision.step) {
      case 'adopt':
        return [...lookup, ...s.preview('comment', event, decision.ticket, 'adopt')];
      case 'reopen':
        return [...lookup, ...s.preview('reopen', event, decision.ticket)];
      case 'create':
        return [...lookup, ...s.preview('create', event, decision.earlier)];
    }
  }

  async send(event: DeliveryEvent, ref: ChannelRef | undefined): Promise<ChannelRef | undefined> {
    const local = isTicketRef(ref) ? withResolveTime(ref) : undefined;
    const doubt = uncertainSince(ref);
    try {
      if (doubt !== undefined) return await this.afterUncertainCreate(event, local, doubt);
      return await this.step(event, local);
    } catch (err) {
      if (!(err instanceof TicketGoneError)) throw err;
      if (event.group.status === 'resolved') {
        this.log(event).warn(
          { ticket: local?.key },
          `${this.system.peer} ticket is gone: nothing to resolve`,
        );
        return {};
      }
      this.log(event).warn({ ticket: local?.key }, `${this.system.peer} ticket is gone: opening a new one`);
      return this.open(event, undefined).catch((again: unknown) => {
        if (again instanceof TicketGoneError)
          throw new ChannelError(`${this.system.peer} ticket vanished while it was being replaced`, true);
        throw again;
      });
    }
  }

  private async step(event: DeliveryEvent, local: TicketRef | undefined): Promise<ChannelRef | undefined> {
    const plan = planTicket(event, local, this.settings.reminderComments);
    switch (plan.step) {
      case 'resolve-found':
        return this.resolveFound(event, await this.system.find(this.system.identity(event)));
      case 'open':
        return this.open(event, local);
      case 'comment':
        await this.system.comment(local as TicketRef, event, plan.kind);
        return local;
      case 'resolve':
        return this.resolveFound(event, { ref: local as TicketRef, open: true, wontFix: false });
      case 'nothing':
        return local;
    }
  }

  /** Resolves the ticket if it is open; no ticket: nothing to do. */
  private async resolveFound(event: DeliveryEvent, ticket: RemoteTicket | undefined): Promise<ChannelRef> {
    if (!ticket) return {};
    if (ticket.open) {
      await this.system.resolve(ticket.ref, event);
      this.log(event).info({ ticket: ticket.ref.key }, `${this.system.peer} ticket resolved`);
    }
    return { ...ticketOnly(ticket.ref), resolvedAt: event.now };
  }

  /**
   * An earlier create got no answer. Search for its ticket (not the group's older one); until the
   * search lag has passed, a miss means "not visible yet": retry rather than create a second ticket.
   */
  private async afterUncertainCreate(
    event: DeliveryEvent,
    local: TicketRef | undefined,
    since: number,
  ): Promise<ChannelRef | undefined> {
    const found = await this.system.find(this.system.identity(event));
    const created = found && found.ref.id !== local?.id ? found : undefined;
    const log = this.log(event);
    if (created) {
      log.info({ ticket: created.ref.key }, `${this.system.peer} ticket of the unanswered create found`);
      return event.group.status === 'resolved' ? this.resolveFound(event, created) : ticketOnly(created.ref);
    }
    const waitUntil = since + this.system.searchLagMs;
    if (this.now() < waitUntil)
      throw new ChannelError(
        `an earlier create of this ticket got no answer and ${this.system.peer} search does not show it yet; ` +
          `not creating a second one before ${new Date(waitUntil).toISOString()}`,
        true,
      );
    log.warn(
      `an earlier create got no answer and ${this.system.peer} search still misses it: going on without it`,
    );
    if (event.group.status === 'resolved') return local ?? {};
    return this.open(event, local);
  }

  /** A group starts firing: adopt its open ticket, reopen a recent one, or create one. */
  private async open(event: DeliveryEvent, local: TicketRef | undefined): Promise<TicketRef> {
    const identity = this.system.identity(event);
    const remote = local ? await this.current(local) : await this.system.find(identity);
    const decision = decideNew(remote, local, event.now, this.settings.reopenWindowMs);
    const log = this.log(event);
    switch (decision.step) {
      case 'adopt':
        await this.system.comment(decision.ticket, event, 'adopt');
        log.info({ ticket: decision.ticket.key }, `${this.system.peer} ticket already open: commented`);
        return ticketOnly(decision.ticket);
      case 'reopen':
        await this.system.reopen(decision.ticket, event);
        log.info({ ticket: decision.ticket.key }, `${this.system.peer} ticket reopened`);
        return ticketOnly(decision.ticket);
      case 'create':
        return this.create(event, identity, local, decision.earlier);
    }
  }

  /** The local ticket's state; a deleted one counts as none. */
  private async current(local: TicketRef): Promise<RemoteTicket | undefined> {
    try {
      return await this.system.get(local);
    } catch (err) {
      if (err instanceof TicketGoneError) return undefined;
      throw err;
    }
  }

  private async create(
    event: DeliveryEvent,
    identity: string,
    local: TicketRef | undefined,
    earlier?: TicketRef,
  ): Promise<TicketRef> {
    try {
      const ref = await this.system.create(event, identity, earlier);
      this.log(event).info({ ticket: ref.key, earlier: earlier?.key }, `${this.system.peer} ticket created`);
      return ref;
    } catch (err) {
      if (!(err instanceof HttpError && err.uncertain)) throw err;
      // The record keeps the group's older ticket (to tell it from the new one) and when this happened.
      const keep: UncertainCreate = { ...(local ?? {}), uncertainCreateAt: this.now() };
      throw new ChannelError(err.message, true, err.retryAfterMs, { cause: err, keep });
    }
  }

  private log(event: DeliveryEvent): Logger {
    return this.logger.child({ channel: this.name, group: event.group.identity });
  }

  async annotate(ref: ChannelRef, note: Block[]): Promise<void> {
    if (!isTicketRef(ref)) throw new ChannelError('no ticket of this group is known', false);
    await this.system.note(ref, note);
  }

  async close(): Promise<void> {}
}

/** The ticket's own fields: no resolve time, no marker. */
function ticketOnly(ref: TicketRef): TicketRef {
  return { key: ref.key, id: ref.id, url: ref.url };
}

/** The ticket's own fields and when this channel resolved it; no marker. */
function withResolveTime(ref: TicketRef): TicketRef {
  return ref.resolvedAt === undefined ? ticketOnly(ref) : { ...ticketOnly(ref), resolvedAt: ref.resolvedAt };
}

/** Ticket text fields in markup (wiki, Markdown, plain text), printed once more as the system reads them. */
const MARKUP_FIELDS = ['description', 'body', 'work_notes', 'close_notes'];

/** How `render` prints a ticket request: its JSON, then each multi-line markup field as text. */
export function printTicketRequest(request: WireRequest): string {
  const body = request.body as Record<string, unknown> | undefined;
  const holders = [body, body?.fields as Record<string, unknown> | undefined];
  const markup = MARKUP_FIELDS.flatMap((field) =>
    holders
      .map((h) => h?.[field])
      .filter((v): v is string => typeof v === 'string' && v.includes('\n'))
      .map((v) => `----- ${field} -----\n${v}`),
  );
  return [printJson(request), ...markup].join('\n');
}
