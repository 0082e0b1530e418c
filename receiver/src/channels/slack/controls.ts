// What a firing group's Slack message offers when `slack_interactivity` is configured: Acknowledge,
// Snooze (one button per configured duration) or Unsnooze, and a status line saying who acknowledged or
// snoozed it until when. Pure. Block Kit types are Slack's own (@slack/types).
//
// A button's `value` is a reference the receiver looks up, never something it trusts: the group's id
// and the channel's name. The silence's matchers come from the group's labels as the receiver stored
// them, and a click counts only on the message the receiver posted for that group.
import type { ActionsBlock, Button, ContextBlock, KnownBlock, MrkdwnElement } from '@slack/types';
import { type Block, SLACK_LIMITS, slackDate } from './render.js';

/** The durations a message offers (`snooze_durations`), as configured and in milliseconds. */
export interface SlackControls {
  durations: { text: string; ms: number }[];
}

export interface SlackUser {
  id: string;
  /** The user name Slack sent with the click (for logs and Alertmanager's createdBy). */
  name?: string;
}

/**
 * What people did with a group's message, kept by the receiver per channel and group. It belongs to one
 * message: a new incident (a new message) starts without it.
 */
export interface ActionsState {
  /** Counts every change: the newest state wins when two copies meet. */
  version: number;
  message: { channel: string; ts: string };
  acknowledged?: { by: SlackUser; at: number };
  snooze?: { silenceId: string; by: SlackUser; at: number; until: number; duration: string };
  /** The last snooze that ended: unsnoozed by someone, or expired (no `by`). */
  ended?: { at: number; by?: SlackUser };
  /** Keys of the clicks already handled, newest last (a replayed click does nothing). */
  handled: string[];
}

export type ActionKind = 'ack' | 'snooze' | 'unsnooze';

/** `lm:ack`, `lm:unsnooze`, `lm:snooze:3d`: the action ids of the controls. */
export const ACTION_PREFIX = 'lm:';
const BLOCK_PREFIX = 'lm-';

/** The button value: the group's id and the channel's name (looked up, never trusted). */
export function controlValue(groupId: string, channel: string): string {
  return `${groupId}:${channel}`;
}

export function parseControlValue(value: string): { groupId: string; channel: string } | undefined {
  const match = /^([0-9a-f]{32}):(.+)$/s.exec(value);
  return match ? { groupId: match[1] as string, channel: match[2] as string } : undefined;
}

export function parseActionId(actionId: string): { kind: ActionKind; duration?: string } | undefined {
  if (actionId === 'lm:ack') return { kind: 'ack' };
  if (actionId === 'lm:unsnooze') return { kind: 'unsnooze' };
  const snooze = /^lm:snooze:(\w{1,20})$/.exec(actionId);
  return snooze ? { kind: 'snooze', duration: snooze[1] as string } : undefined;
}

const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text });
const mention = (user: SlackUser) => `<@${user.id}>`;

/** The state, if it belongs to this message (a state of an earlier incident's message does not). */
export function stateFor(
  state: ActionsState | undefined,
  message: { channel: string; ts: string } | undefined,
): ActionsState | undefined {
  return state && message && state.message.channel === message.channel && state.message.ts === message.ts
    ? state
    : undefined;
}

/** Whether the group is snoozed at `now`. */
export function snoozedAt(state: ActionsState | undefined, now: number): boolean {
  return state?.snooze !== undefined && state.snooze.until > now;
}

/** The status lines: who acknowledged, who snoozed until when, or when the snooze ended. */
export function statusLines(state: ActionsState | undefined, now: number): string[] {
  if (!state) return [];
  const lines: string[] = [];
  if (state.acknowledged)
    lines.push(`✅ Acknowledged by ${mention(state.acknowledged.by)} ${slackDate(state.acknowledged.at)}`);
  const snooze = state.snooze;
  if (snooze && snooze.until > now)
    lines.push(
      `🔕 Snoozed by ${mention(snooze.by)} for ${snooze.duration} until ${slackDate(snooze.until)} (Alertmanager silence \`${snooze.silenceId}\`)`,
    );
  else if (snooze) lines.push(`🔔 Snooze by ${mention(snooze.by)} ended ${slackDate(snooze.until)}`);
  else if (state.ended)
    lines.push(
      state.ended.by
        ? `🔔 Unsnoozed by ${mention(state.ended.by)} ${slackDate(state.ended.at)}`
        : `🔔 Snooze ended ${slackDate(state.ended.at)}`,
    );
  return lines;
}

/**
 * The blocks the controls add to a message: the status line (when there is one) and, while the group
 * fires, the buttons. Block ids carry the state's version (Slack asks for new ids when a message
 * changes).
 */
export function controlBlocks(
  ref: { groupId: string; channel: string },
  controls: SlackControls,
  state: ActionsState | undefined,
  firing: boolean,
  now: number,
): { status?: ContextBlock; actions?: ActionsBlock } {
  const version = state?.version ?? 0;
  const out: { status?: ContextBlock; actions?: ActionsBlock } = {};
  const lines = statusLines(state, now);
  if (lines.length > 0)
    out.status = {
      type: 'context',
      block_id: `${BLOCK_PREFIX}status-${version}`,
      elements: lines.map(mrkdwn),
    };
  if (!firing) return out;
  const value = controlValue(ref.groupId, ref.channel);
  const button = (text: string, actionId: string, style?: Button['style']): Button => ({
    type: 'button',
    text: { type: 'plain_text', text: text.slice(0, SLACK_LIMITS.buttonText), emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  });
  const elements: Button[] = [];
  if (!state?.acknowledged) elements.push(button('Acknowledge', 'lm:ack', 'primary'));
  if (snoozedAt(state, now)) elements.push(button('Unsnooze', 'lm:unsnooze'));
  else for (const d of controls.durations) elements.push(button(`Snooze ${d.text}`, `lm:snooze:${d.text}`));
  if (elements.length > 0)
    out.actions = { type: 'actions', block_id: `${BLOCK_PREFIX}actions-${version}`, elements };
  return out;
}

/** A block the controls placed (status line or buttons). */
function isControl(block: { block_id?: unknown }): boolean {
  return typeof block.block_id === 'string' && block.block_id.startsWith(BLOCK_PREFIX);
}

/**
 * The message's blocks with the controls in place: the status line under the first section (the
 * summary), the buttons before the last context line (labels and group). Earlier controls are
 * replaced. The same for a message rendered now and one read back from Slack.
 */
export function placeControls<B extends { type: string; block_id?: unknown }>(
  blocks: readonly B[],
  added: { status?: ContextBlock; actions?: ActionsBlock },
): (B | KnownBlock)[] {
  const out: (B | KnownBlock)[] = blocks.filter((b) => !isControl(b));
  if (added.actions) {
    const last = out.at(-1);
    out.splice(last?.type === 'context' ? out.length - 1 : out.length, 0, added.actions);
  }
  if (added.status) {
    const first = out.findIndex((b) => b.type === 'section');
    out.splice(first < 0 ? out.length : first + 1, 0, added.status);
  }
  // Never more blocks than Slack takes (a rendered message has about ten).
  return out.length <= SLACK_LIMITS.blocks
    ? out
    : [...out.slice(0, SLACK_LIMITS.blocks - 1), out.at(-1) as B | KnownBlock];
}

/** The thread reply of an action: `✅ Acknowledged by @alice.` */
export function actionReply(text: string): { text: string; blocks: Block[] } {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
