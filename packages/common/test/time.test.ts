// RFC 3339 as Go writes it, on real calendar days only: one reading for the agent (licence expiry)
// and the receiver (Alertmanager's startsAt/endsAt).
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../src/index.js';

describe('parseRfc3339', () => {
  it.each([
    ['2026-01-02T15:04:05Z', Date.UTC(2026, 0, 2, 15, 4, 5)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['2026-11-28T08:00:00.123456789Z', Date.UTC(2026, 10, 28, 8, 0, 0, 123)],
    ['2026-11-28T10:00:00+02:00', Date.UTC(2026, 10, 28, 8)],
    ['0001-01-01T00:00:00Z', Date.parse('0001-01-01T00:00:00Z')], // Go's zero time (a firing alert's endsAt)
  ])('reads %s', (text, ms) => {
    expect(parseRfc3339(text)).toBe(ms);
  });

  it.each([
    '2026-02-31T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-06-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00+23:60',
    '2026-01-01',
    '2026',
    'May 1 2026',
    '2026-01-01 00:00:00Z',
  ])('refuses %s', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });
});
