import { describe, expect, it } from 'vitest';
import { formatPath, parseWebhookPayload } from '../src/alertmanager.js';
import { fixture } from './fixtures/payloads.js';

describe('webhook payload parsing', () => {
  it('accepts a firing payload with a zero endsAt and keeps unknown fields', () => {
    const result = parseWebhookPayload(fixture('unknown-fields'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const payload = result.payload as Record<string, unknown> & typeof result.payload;
    expect(payload.routeLabels).toEqual({ team: 'platform' });
    expect(payload.someFutureField).toEqual({ nested: [1, 2, 3] });
    expect((payload.alerts[0] as Record<string, unknown>).someAlertField).toBe('kept');
    expect(payload.notification_reason).toBe('new alerts added');
    expect(payload.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  it.each([
    ['missing-field', 'alerts[0].startsAt', 'required field is missing'],
    ['wrong-types', 'alerts[0].labels.severity', 'expected a string, received a number (3)'],
    ['empty-alerts', 'alerts', 'expected at least one alert'],
  ])('%s → names %s', (name, field, message) => {
    const result = parseWebhookPayload(fixture(name));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toEqual({ field, message });
  });

  it.each([
    [[], '(body)', 'expected a JSON object, received an array'],
    ['text', '(body)', 'expected a JSON object'],
    [{ alerts: 'none' }, 'alerts', 'expected an array of alerts'],
    [
      { alerts: [{ status: 'burning', labels: {}, startsAt: '2026-01-01T00:00:00Z' }] },
      'alerts[0].status',
      'expected "firing" or "resolved"',
    ],
    [{ alerts: [{ status: 'firing', labels: {}, startsAt: 'yesterday' }] }, 'alerts[0].startsAt', 'RFC 3339'],
    [
      { alerts: [{ status: 'firing', startsAt: '2026-01-01T00:00:00Z' }] },
      'alerts[0].labels',
      'required field is missing',
    ],
    [
      { truncatedAlerts: -1, alerts: [{ status: 'firing', labels: {}, startsAt: '2026-01-01T00:00:00Z' }] },
      'truncatedAlerts',
      'whole number',
    ],
  ])('%j → %s', (body, field, message) => {
    const result = parseWebhookPayload(body);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]?.field).toBe(field);
    expect(result.problems[0]?.message).toContain(message);
  });

  it('fills commonLabels and status when a sender leaves them out', () => {
    const result = parseWebhookPayload({
      alerts: [
        {
          status: 'resolved',
          labels: { alertname: 'A', cluster: 'x', pod: '1' },
          startsAt: '2026-01-01T00:00:00Z',
        },
        {
          status: 'firing',
          labels: { alertname: 'A', cluster: 'x', pod: '2' },
          startsAt: '2026-01-01T00:00:00Z',
        },
      ],
    });
    expect(result.ok && result.payload.commonLabels).toEqual({ alertname: 'A', cluster: 'x' });
    expect(result.ok && result.payload.status).toBe('firing');
  });

  it('writes paths the way a reader looks them up', () => {
    expect(formatPath(['alerts', 0, 'labels', 'a.b'])).toBe('alerts[0].labels["a.b"]');
  });
});
