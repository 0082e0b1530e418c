import { describe, expect, it } from 'vitest';
import { parseWebhookPayload } from '../src/alertmanager.js';
import { alertKey, alertKeys, contentKey, decideIntake, groupIdentity } from '../src/outbox/idempotency.js';
import { fixture } from './fixtures/payloads.js';

const parse = (body: unknown) => {
  const result = parseWebhookPayload(body);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.payload;
};

describe('group identity', () => {
  it('is the receiver and the sorted group labels, not the groupKey', () => {
    const a = parse(fixture('firing'));
    const edited = parse({
      ...fixture('firing'),
      groupKey: '{}/{team="platform"}/{alertname=~".*"}:{cluster="prod"}',
    });
    const reordered = parse({
      ...fixture('firing'),
      groupLabels: { cluster: 'prod', alertname: 'CalicoLicenseExpiringSoon' },
    });
    expect(groupIdentity(edited, 'r').id).toBe(groupIdentity(a, 'r').id);
    expect(groupIdentity(reordered, 'r').id).toBe(groupIdentity(a, 'r').id);
    expect(groupIdentity(a, 'r').text).toBe('r{alertname="CalicoLicenseExpiringSoon",cluster="prod"}');
    expect(groupIdentity(a, 'other').id).not.toBe(groupIdentity(a, 'r').id);
    const otherCluster = parse({
      ...fixture('firing'),
      groupLabels: { alertname: 'CalicoLicenseExpiringSoon', cluster: 'dev' },
    });
    expect(groupIdentity(otherCluster, 'r').id).not.toBe(groupIdentity(a, 'r').id);
  });

  it('can come from a template', () => {
    const a = parse(fixture('firing'));
    const id = groupIdentity(a, 'r', 'licence/{{commonLabels.cluster}}/{{groupLabels.alertname}}');
    expect(id.text).toBe('licence/prod/CalicoLicenseExpiringSoon');
    const otherReceiver = groupIdentity(
      a,
      'elsewhere',
      'licence/{{commonLabels.cluster}}/{{groupLabels.alertname}}',
    );
    expect(otherReceiver.id).toBe(id.id);
  });
});

describe('content key', () => {
  const firing = parse(fixture('firing'));
  const mixed = parse(fixture('mixed'));

  it('ignores order, groupKey, reason and endsAt', () => {
    const shuffled = parse({
      ...fixture('mixed'),
      alerts: [...(fixture('mixed').alerts as unknown[])].reverse(),
      groupKey: 'changed',
      notification_reason: 'repeat interval elapsed',
    });
    expect(contentKey(shuffled)).toBe(contentKey(mixed));
    // The same instant written differently by two Alertmanagers.
    const fractional = parse({
      ...fixture('firing'),
      alerts: (fixture('firing').alerts as Record<string, unknown>[]).map((a) => ({
        ...a,
        startsAt: '2026-11-28T08:00:00.000Z',
      })),
    });
    expect(contentKey(fractional)).toBe(contentKey(firing));
  });

  it('changes with a status, a start or an alert', () => {
    expect(contentKey(parse(fixture('resolved')))).not.toBe(contentKey(firing));
    const restarted = parse({
      ...fixture('firing'),
      alerts: (fixture('firing').alerts as Record<string, unknown>[]).map((a) => ({
        ...a,
        startsAt: '2026-11-29T08:00:00Z',
      })),
    });
    expect(contentKey(restarted)).not.toBe(contentKey(firing));
    expect(contentKey(parse({ ...fixture('truncated'), truncatedAlerts: 8 }))).not.toBe(
      contentKey(parse(fixture('truncated'))),
    );
  });
});

describe('intake decision', () => {
  it.each([
    [undefined, 'k1', 0, 'queued'],
    [{ contentKey: 'k1', acceptedAt: 1000 }, 'k2', 1500, 'queued'],
    [{ contentKey: 'k1', acceptedAt: 1000 }, 'k1', 1500, 'duplicate'], // HA twin seconds later
    [{ contentKey: 'k1', acceptedAt: 1000 }, 'k1', 1000 + 120_000, 'reminder'], // repeat after the window
  ] as const)('previous %j, key %s at %d → %s', (previous, key, now, outcome) => {
    expect(decideIntake(previous, { contentKey: key }, now, 120_000)).toBe(outcome);
  });

  // A firing notification Alertmanager kept retrying to a replica that was down, arriving after the
  // group's resolve went through another replica: alert a1 (started at 100) firing, after its resolve.
  const resolvedA1 = { contentKey: 'resolve', acceptedAt: 1000, resolved: ['a1|100'] };
  it.each([
    [resolvedA1, ['a1|100'], 1000 + 30_000, 'stale'], // the late retry
    [resolvedA1, ['a1|100', 'b1|200'], 1000 + 30_000, 'stale'], // any alert shown firing after its resolve
    [resolvedA1, ['a1|500'], 1000 + 30_000, 'queued'], // fires again: Prometheus gives it a new start
    [resolvedA1, ['b1|200'], 1000 + 30_000, 'queued'], // another alert of the group
    [resolvedA1, ['a1|100'], 1000 + 120_000, 'queued'], // after the window: a state to show (see the doc)
    [{ ...resolvedA1, resolved: [] }, ['a1|100'], 1000 + 30_000, 'queued'],
  ] as const)('after a resolve of %j: firing %j at %d → %s', (previous, firing, now, outcome) => {
    expect(decideIntake(previous, { contentKey: 'late', firing }, now, 120_000)).toBe(outcome);
  });

  it('keys alerts by fingerprint and start, split by status', () => {
    const payload = parse(fixture('firing'));
    const [first] = payload.alerts;
    if (!first) throw new Error('fixture without alerts');
    const resolved = {
      ...payload,
      status: 'resolved' as const,
      alerts: [{ ...first, status: 'resolved' as const }],
    };
    expect(alertKeys(payload).firing).toEqual([alertKey(first)]);
    expect(alertKeys(resolved)).toEqual({ firing: [], resolved: [alertKey(first)] });
    expect(alertKey(first)).toBe(`${first.fingerprint}|${Date.parse(first.startsAt)}`);
  });
});
