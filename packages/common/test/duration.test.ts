// The one duration grammar of agent, rules and receiver (Prometheus' model.ParseDuration), as one
// table: every part accepts and rejects exactly these.
import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseDurationSeconds } from '../src/index.js';

const DAY = 86_400_000;

describe('Prometheus durations', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['90d', 90 * DAY],
    ['1w', 7 * DAY],
    ['1y', 365 * DAY],
    ['1y2w3d4h5m6s7ms', 365 * DAY + 14 * DAY + 3 * DAY + 4 * 3_600_000 + 5 * 60_000 + 6000 + 7],
    ['1m1ms', 60_001],
    ['90m', 5_400_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['d', 'a unit without a number'],
    ['10', 'a number without a unit'],
    ['10x', 'an unknown unit'],
    ['-5m', 'a sign'],
    ['1.5h', 'a fraction'],
    ['30m1h', 'units out of order'],
    ['1m1m', 'a unit twice'],
    [' 5m ', 'spaces around'],
    ['1h 30m', 'a space inside'],
    ['5M', 'an upper-case unit'],
    ['ninety', 'words'],
    ['99999999999y', 'more milliseconds than can be counted exactly'],
  ])('rejects %j (%s)', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
    expect(parseDurationSeconds(text)).toBeUndefined();
  });

  it('counts seconds with fractions below one second', () => {
    expect(parseDurationSeconds('500ms')).toBe(0.5);
    expect(parseDurationSeconds('90d')).toBe(90 * 86_400);
    expect(parseDurationSeconds('0')).toBe(0);
  });
});
