// Acknowledge and Snooze from Slack (`slack_interactivity`). A click reaches the endpoint (endpoint.ts),
// which checks Slack's signature and writes the click to the outbox as a row of this internal channel;
// the delivery loop hands that row to `handle` here, which acts on it: an Alertmanager silence for a
// snooze (expired again by Unsnooze), a reply in the message's thread and the message updated to say
// who did what. Through the outbox, a click survives a crash and is retried while Alertmanager is down
// (the user is told), and every step is safe to run twice: the silence is looked up by the click's
// marker before one is created, thread replies by their delivery metadata.
//
// What people did with a group's message (ActionsState) is this channel's delivery record for the group
// (`<group id>@<slack channel>`), kept by the store like any record.
import type { Logger } from 'pino';
import {
  type Channel,
  ChannelError,
  type ChannelRef,
  type DeliveryAttempt,
  type HandledRequest,
  type StoredRequest,
  type WireRequest,
} from '../channels/channel.js';
import { para, t } from '../channels/doc.js';
import {
  type ActionKind,
  type ActionsState,
  actionReply,
  type SlackUser,
  snoozedAt,
  stateFor,
} from '../channels/slack/controls.js';
import {
  type InteractionHooks,
  isSlackRef,
  type SlackChannel,
  type SlackGroupRef,
} from '../channels/slack/index.js';
import { slackDate } from '../channels/slack/render.js';
import type { OutboxStore } from '../outbox/store.js';
import { humanTime } from '../units.js';
import type { InteractivitySettings } from './config.js';
import { Silences } from './silences.js';

/** The internal channel's name (in the outbox, the delivery log and the metrics). */
export const INTERACTIONS_CHANNEL = 'slack-interactions';
/** How many handled clicks a group's state remembers (to do nothing on a replay). */
const HANDLED_KEPT = 50;

/** A click as the endpoint stores it (checked, normalised). */
export interface Click {
  kind: ActionKind;
  /** For a snooze: the duration's text, one of snooze_durations. */
  duration?: string;
  user: SlackUser;
  /** The Slack channel (the receiver's channel name) and the group, from the button's value. */
  channel: string;
  groupId: string;
  /** The message clicked on, as Slack says. */
  message: { channel: string; ts: string };
  /** Unique per click: Slack's action_ts and the user. */
  key: string;
  at: number;
}

/** The store's group id of a Slack group's interactions. */
export function interactionGroup(channel: string, groupId: string): string {
  return `${groupId}@${channel}`;
}

const who = (user: SlackUser) => `<@${user.id}>`;

export class SlackInteractions implements Channel {
  readonly name = INTERACTIONS_CHANNEL;
  readonly type = 'slack-interactions';
  readonly concurrency = 4;
  /** Alertmanager and Slack calls per click are few; Slack's own limits are the Slack channels'. */
  readonly rateLimit = { perSecond: 5, burst: 10 };
  private readonly silences: Silences;
  private readonly slack = new Map<string, SlackChannel>();
  /** Channels that take a note on what they show for a group (ticket channels: a comment). */
  private readonly annotated: Channel[];
  /** Per group: the newest state handled, until the store has it too (see `state`). */
  private readonly latest = new Map<string, ActionsState>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly settings: InteractivitySettings,
    private readonly store: OutboxStore,
    channels: readonly Channel[],
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.silences = new Silences(settings.alertmanager);
    this.annotated = channels.filter((c) => c.annotate !== undefined);
    for (const channel of channels) {
      const slack = channel as Partial<SlackChannel>;
      if (channel.type === 'slack' && slack.interactive && slack.attachInteractions) {
        slack.attachInteractions(this.hooks);
        this.slack.set(channel.name, channel as SlackChannel);
      }
    }
  }

  /** What the Slack channels ask of the interactions when they deliver a notification. */
  readonly hooks: InteractionHooks = {
    exclusive: (channel, groupId, fn) => this.exclusive(interactionGroup(channel, groupId), fn),
    state: (channel, groupId) => this.state(interactionGroup(channel, groupId)),
  };

  /** Whether a click names a channel with controls (the endpoint refuses others at once). */
  knows(channel: string): boolean {
    return this.slack.has(channel);
  }

  render(): WireRequest[] {
    return [];
  }

  async send(): Promise<ChannelRef | undefined> {
    throw new ChannelError('the Slack interactions channel handles stored clicks only', false);
  }

  async handle(request: StoredRequest): Promise<HandledRequest> {
    const click = JSON.parse(request.payload) as Click;
    const group = interactionGroup(click.channel, click.groupId);
    return this.exclusive(group, async () => {
      // The stored state, or a newer one (handled here before the store had it, a snooze found ended).
      const state = (await this.state(group)) ?? (request.state as ActionsState | undefined);
      const handled = await this.act(click, state, request.delivery);
      if (handled.state) this.remember(group, handled.state as unknown as ActionsState);
      return handled;
    });
  }

  async close(): Promise<void> {}

  /** The newest of what the store has and what was handled here (a record is written after `handle`). */
  private async state(group: string): Promise<ActionsState | undefined> {
    const stored = (await this.store.record(INTERACTIONS_CHANNEL, group))?.ref as ActionsState | undefined;
    const mine = this.latest.get(group);
    let state = mine ?? stored;
    if (mine && stored && stored.message.ts === mine.message.ts && stored.version >= mine.version) {
      this.latest.delete(group);
      state = stored;
    }
    return this.checkSnooze(group, state);
  }

  /**
   * A snooze whose silence someone expired in Alertmanager (or that Alertmanager no longer has) ended:
   * the message says so at its next delivery. When Alertmanager cannot answer, the state stays.
   */
  private async checkSnooze(
    group: string,
    state: ActionsState | undefined,
  ): Promise<ActionsState | undefined> {
    const snooze = state?.snooze;
    if (!state || !snooze || !snoozedAt(state, this.now())) return state;
    let silence: Awaited<ReturnType<Silences['get']>>;
    try {
      silence = await this.silences.get(snooze.silenceId);
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'cannot check the snooze silence: shown as it was');
      return state;
    }
    if (silence && silence.status.state !== 'expired') return state;
    const ended = silence ? Math.min(Date.parse(silence.endsAt), this.now()) : this.now();
    const { snooze: _gone, ...rest } = state;
    const next: ActionsState = { ...rest, version: state.version + 1, ended: { at: ended } };
    this.remember(group, next);
    return next;
  }

  private remember(group: string, state: ActionsState): void {
    this.latest.set(group, state);
  }

  /** Runs `fn` after everything queued for `key` (one group's message is edited by one at a time). */
  private exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  private async act(
    click: Click,
    stored: ActionsState | undefined,
    delivery: DeliveryAttempt,
  ): Promise<HandledRequest> {
    const title = `${click.kind}${click.duration ? ` ${click.duration}` : ''} by ${click.user.id}`;
    const slack = this.slack.get(click.channel);
    if (!slack) return { title, skipped: `no Slack channel ${click.channel} with controls` };
    const record = await this.store.record(click.channel, click.groupId);
    const ref = record?.ref;
    if (!isSlackRef(ref) || ref.channel !== click.message.channel || ref.ts !== click.message.ts)
      return { title, skipped: "the message clicked is not the group's current message" };
    const groupRef = ref as SlackGroupRef;
    const named = `${title} · ${groupRef.title ?? click.groupId}`;
    const state: ActionsState = stateFor(stored, ref) ?? {
      version: 0,
      message: { ...click.message },
      handled: [],
    };
    if (state.handled.includes(click.key)) return { title: named, skipped: 'this click was handled already' };
    const next: ActionsState = {
      ...state,
      version: state.version + 1,
      handled: [...state.handled, click.key].slice(-HANDLED_KEPT),
    };
    const refuse = async (why: string, text: string): Promise<HandledRequest> => {
      await slack.tell(ref, click.user.id, text);
      return { title: named, skipped: why, state: next as unknown as ChannelRef };
    };
    const allowed = this.settings.allowedUsers;
    if (allowed.length > 0 && !allowed.includes(click.user.id))
      return refuse(
        'user not allowed',
        `You are not allowed to ${verb(click)} this alert (slack_interactivity.allowed_users).`,
      );
    const firing = record?.state === 'open';
    if (!firing && click.kind !== 'unsnooze')
      return refuse(
        'the group has resolved',
        'This alert has resolved: there is nothing to acknowledge or snooze.',
      );
    const now = this.now();
    let reply: string;
    switch (click.kind) {
      case 'ack':
        if (state.acknowledged)
          return refuse(
            'acknowledged already',
            `${who(state.acknowledged.by)} acknowledged this alert already.`,
          );
        next.acknowledged = { by: click.user, at: now };
        reply = `✅ Acknowledged by ${who(click.user)}.`;
        break;
      case 'snooze': {
        if (snoozedAt(state, now))
          return refuse(
            'snoozed already',
            `This alert is snoozed already, until ${slackDate(state.snooze?.until ?? now)}.`,
          );
        const duration = this.settings.durations.find((d) => d.text === click.duration);
        if (!duration)
          return refuse('unknown duration', `${click.duration} is not one of the snooze durations.`);
        const until = now + duration.ms;
        const silenceId = await this.silence(click, groupRef, delivery, now, until, slack, ref);
        next.snooze = { silenceId, by: click.user, at: now, until, duration: duration.text };
        delete next.ended;
        reply = `🔕 Snoozed by ${who(click.user)} for ${duration.text} until ${slackDate(until)} (Alertmanager silence \`${silenceId}\`).`;
        break;
      }
      case 'unsnooze': {
        const snooze = state.snooze;
        if (!snooze || !snoozedAt(state, now)) return refuse('not snoozed', 'This alert is not snoozed.');
        await this.alertmanager(() => this.silences.expire(snooze.silenceId), click, delivery, slack, ref);
        delete next.snooze;
        next.ended = { at: now, by: click.user };
        reply = `🔔 Unsnoozed by ${who(click.user)}: silence \`${snooze.silenceId}\` expired.`;
        break;
      }
    }
    await slack.replyInThread(
      ref,
      actionReply(reply),
      delivery,
      click.groupId,
      groupRef.title ?? click.groupId,
    );
    const shown = await slack.showControls(ref, click.groupId, next, firing, now);
    if (click.kind === 'ack') await this.noteOnTickets(click, now);
    if (!shown)
      this.logger.warn(
        { channel: click.channel, group_id: click.groupId },
        'the Slack message is gone: not updated',
      );
    this.logger.info(
      {
        channel: click.channel,
        group_id: click.groupId,
        user: click.user.id,
        action: click.kind,
        silence: next.snooze?.silenceId,
      },
      'Slack action handled',
    );
    return { title: named, state: next as unknown as ChannelRef };
  }

  /**
   * Who acknowledged, as a comment on the group's open tickets. Last, after Slack shows it: a ticket
   * system that fails is logged and not retried (the click is done; a retry would comment twice on
   * the tickets that took it).
   */
  private async noteOnTickets(click: Click, now: number): Promise<void> {
    const note = [
      para(
        t(
          `Acknowledged in Slack by ${click.user.name ?? click.user.id} (${click.user.id}) at ${humanTime(now)}.`,
          'strong',
        ),
      ),
    ];
    for (const channel of this.annotated) {
      const record = await this.store.record(channel.name, click.groupId);
      if (record?.state !== 'open') continue;
      try {
        await channel.annotate?.(record.ref, note);
      } catch (err) {
        this.logger.warn(
          { channel: channel.name, group_id: click.groupId, err: (err as Error).message },
          'cannot comment on the ticket that the alert was acknowledged',
        );
      }
    }
  }

  /** The snooze's silence: the one this click made already (a retry), else a new one. */
  private async silence(
    click: Click,
    ref: SlackGroupRef,
    delivery: DeliveryAttempt,
    now: number,
    until: number,
    slack: SlackChannel,
    message: SlackGroupRef,
  ): Promise<string> {
    const labels = ref.silence ?? {};
    if (Object.keys(labels).length === 0)
      throw new ChannelError('the group has no labels to silence by (its delivery record has none)', false);
    const marker = `[slack ${delivery.id}]`;
    return this.alertmanager(
      async () => {
        const found = await this.silences.findByMarker(labels, marker);
        if (found) return found.id;
        return this.silences.create({
          labels,
          startsAt: now,
          endsAt: until,
          createdBy: `${click.user.name ?? click.user.id} (${click.user.id})`,
          comment: `Snoozed from Slack for ${click.duration}: ${ref.title ?? click.groupId} ${marker}`,
        });
      },
      click,
      delivery,
      slack,
      message,
    );
  }

  /**
   * An Alertmanager call; when it fails the user is told (once, on the first attempt: it is retried
   * until the row's deadline; or at once when retrying cannot help), and the error goes to the
   * delivery loop, which retries the click or keeps it as a dead letter.
   */
  private async alertmanager<T>(
    fn: () => Promise<T>,
    click: Click,
    delivery: DeliveryAttempt,
    slack: SlackChannel,
    ref: SlackGroupRef,
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const retryable = err instanceof ChannelError && err.retryable;
      if (!retryable || delivery.attempt === 1) {
        const later = retryable
          ? ` It is retried until ${delivery.deadline ? slackDate(delivery.deadline) : 'it works'}; this thread says when it is done.`
          : ' It is not retried.';
        await slack
          .tell(
            ref,
            click.user.id,
            `Alertmanager could not ${verb(click)} this alert: ${(err as Error).message}.${later}`,
          )
          .catch((e: Error) => this.logger.warn({ err: e.message }, 'cannot tell the Slack user'));
      }
      throw err;
    }
  }
}

function verb(click: Click): string {
  return click.kind === 'ack' ? 'acknowledge' : click.kind;
}
