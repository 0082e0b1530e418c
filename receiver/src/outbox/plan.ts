// What a queued notification means for one destination, given what that destination already shows
// for the group (its delivery record): a new message, an update of the open one (alerts joined or
// some resolved), the resolve of it, or a reminder in its thread. Pure.
import type { ChannelRef, DeliveryEvent, EventKind } from '../channels/channel.js';
import type { GroupView } from '../notification.js';

export type { ChannelRef, DeliveryEvent, EventKind } from '../channels/channel.js';

export interface DeliveryRecord {
  /** `open` while the message stands for a firing group; `closed` once it showed the resolve. */
  state: 'open' | 'closed';
  ref: ChannelRef;
  /** Fingerprints shown as firing by the last delivery. */
  firing: string[];
  /** When the first message of this incident was sent. */
  openedAt: number;
  updatedAt: number;
}

export type Plan = { skip: false; event: DeliveryEvent } | { skip: true; reason: string };

export function planDelivery(
  group: GroupView,
  record: DeliveryRecord | undefined,
  reminder: boolean,
  now: number,
): Plan {
  const shownFiring = new Set(record?.state === 'open' ? record.firing : []);
  const newlyFiring = group.firing.filter((a) => !shownFiring.has(a.fingerprint));
  const firingNow = new Set(group.firing.map((a) => a.fingerprint));
  const newlyResolved = group.resolved.filter((a) => shownFiring.has(a.fingerprint));
  // Alerts that were shown firing and are not in this payload at all count as resolved too.
  const gone = [...shownFiring].filter(
    (fp) => !firingNow.has(fp) && !group.resolved.some((a) => a.fingerprint === fp),
  );
  const event = (kind: EventKind, openedAt: number): Plan => ({
    skip: false,
    event: { kind, group, newlyFiring, newlyResolved, openedAt, now },
  });

  if (!record || record.state === 'closed') {
    if (group.status === 'resolved' && record?.state === 'closed')
      return { skip: true, reason: 'the group is already shown as resolved' };
    if (reminder && !record) return event('new', now);
    if (reminder) return { skip: true, reason: 'reminder for a group that is no longer open' };
    return event('new', now);
  }
  if (group.status === 'resolved') return event('resolve', record.openedAt);
  const changed = newlyFiring.length > 0 || newlyResolved.length > 0 || gone.length > 0;
  if (reminder || !changed) return event('reminder', record.openedAt);
  return event('update', record.openedAt);
}

/** The record to keep after `event` was delivered and the channel answered with `ref`. */
export function nextRecord(
  event: DeliveryEvent,
  previous: DeliveryRecord | undefined,
  ref: ChannelRef | undefined,
): DeliveryRecord {
  const firing = event.group.firing.map((a) => a.fingerprint);
  const base: DeliveryRecord = {
    state: event.group.status === 'firing' ? 'open' : 'closed',
    ref: ref ?? previous?.ref ?? {},
    firing,
    openedAt: event.kind === 'new' ? event.now : (previous?.openedAt ?? event.now),
    updatedAt: event.now,
  };
  if (event.kind === 'reminder' && previous)
    return { ...previous, ref: ref ?? previous.ref, updatedAt: event.now };
  return base;
}
