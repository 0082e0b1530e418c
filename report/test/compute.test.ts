// The pure figures: periods, percentiles, coverage and gaps, days over with limits that change,
// licence days, alert episodes. Tables of cases on small grids.
import { describe, expect, it } from 'vitest';
import {
  alertEdgeWindows,
  alertFigures,
  coverageFigures,
  exactExcess,
  licenceFigures,
  percentile,
  usageFigures,
  windowsToRefine,
} from '../src/compute.js';
import { DAY_MS, type Grid, parseDay, parseMonth } from '../src/period.js';

const N = Number.NaN;
const arr = (values: number[]) => Float64Array.from(values);
/** A grid of 6-hour windows from 2026-11-01: 4 windows a day. */
const grid = (count: number): Grid => ({ start: Date.UTC(2026, 10, 1), step: DAY_MS / 4, count });

describe('periods', () => {
  it.each([
    ['2026-11-01', Date.UTC(2026, 10, 1)],
    ['2028-02-29', Date.UTC(2028, 1, 29)],
    ['2026-02-29', undefined],
    ['2026-13-01', undefined],
    ['2026-11-1', undefined],
    ['01.11.2026', undefined],
  ])('parseDay(%j)', (text, expected) => {
    expect(parseDay(text)).toBe(expected);
  });

  it('a month runs from its first midnight to the next month’s, across a year end', () => {
    expect(parseMonth('2026-12')).toEqual({ from: Date.UTC(2026, 11, 1), to: Date.UTC(2027, 0, 1) });
    expect(parseMonth('2026-00')).toBeUndefined();
  });
});

describe('percentile (nearest rank)', () => {
  it.each([
    [[], 0.95, null],
    [[7], 0.95, 7],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 0.95, 19],
    [[5, 1, 3], 0.5, 3],
  ])('%j at %d → %j', (values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });
});

describe('coverage', () => {
  it('lists runs of empty windows as gaps, with the leading and trailing ones', () => {
    const c = coverageFigures(grid(8), arr([N, 5, 5, N, N, 5, 5, N]));
    expect(c.coverage).toBe(0.5);
    expect(c.gaps.map((g) => [g.from, g.to, g.seconds])).toEqual([
      ['2026-11-01T00:00:00Z', '2026-11-01T06:00:00Z', 21_600],
      ['2026-11-01T18:00:00Z', '2026-11-02T06:00:00Z', 43_200],
      ['2026-11-02T18:00:00Z', '2026-11-03T00:00:00Z', 21_600],
    ]);
    expect([c.first_seen, c.last_seen]).toEqual(['2026-11-01T06:00:00Z', '2026-11-02T18:00:00Z']);
  });

  it('a zero is data, not a gap', () => {
    expect(coverageFigures(grid(2), arr([0, 0])).coverage).toBe(1);
  });

  it('no data at all: coverage 0, one gap over the whole period', () => {
    const c = coverageFigures(grid(4), arr([N, N, N, N]));
    expect([c.coverage, c.gaps.length, c.first_seen]).toEqual([0, 1, null]);
  });
});

describe('usage figures', () => {
  const input = (peak: number[], limitMin: number[], limitMax = limitMin) => ({
    peak: arr(peak),
    avg: arr(peak),
    limitMin: arr(limitMin),
    limitMax: arr(limitMax),
    refined: new Map(),
  });

  it('a day is over when a window of it exceeds the limit in force then, not the limit at the end', () => {
    // Day 1: 12 > 10. Day 2: the limit is raised to 20 in window 5; 15 comes after it.
    const u = usageFigures(grid(8), input([5, 12, 5, 5, 5, 15, 15, 5], [10, 10, 10, 10, 10, 20, 20, 20]));
    expect(u.days_over).toBe(1);
    expect(u.over_days).toEqual([{ date: '2026-11-01', peak: 12, licensed: 10 }]);
    expect(u.licensed).toBe(20);
    expect(u.licensed_changes).toEqual([{ at: '2026-11-02T06:00:00Z', licensed: 20 }]);
  });

  it('windows without data count neither in the average nor as zero', () => {
    const u = usageFigures(grid(4), input([10, N, N, 20], [100, N, N, 100]));
    expect([u.max, u.avg, u.p95]).toEqual([20, 15, 20]);
  });

  it('+Inf is unlimited and 0 unknown: neither is ever exceeded', () => {
    expect(usageFigures(grid(2), input([50, 50], [Infinity, Infinity]))).toMatchObject({
      licensed: 'unlimited',
      days_over: 0,
    });
    expect(usageFigures(grid(2), input([50, 50], [0, 0]))).toMatchObject({ licensed: null, days_over: 0 });
  });

  it('a window whose limit changed inside it is settled by its raw samples', () => {
    const i = input([5, 15, 5, 5], [10, 10, 20, 20], [10, 20, 20, 20]);
    expect(windowsToRefine(i)).toEqual([1]);
    // The raw samples said: 15 came after the renewal to 20.
    expect(usageFigures(grid(4), { ...i, refined: new Map([[1, null]]) }).days_over).toBe(0);
    // They said: 15 came while 10 was in force.
    const over = usageFigures(grid(4), { ...i, refined: new Map([[1, { excess: 5, licensed: 10 }]]) });
    expect(over.over_days).toEqual([{ date: '2026-11-01', peak: 15, licensed: 10 }]);
    expect(over.licensed_changes).toEqual([{ at: '2026-11-01T06:00:00Z', licensed: 20 }]);
  });

  it('exactExcess pairs each used sample with the limit of the same series at that time', () => {
    const labels = { cluster: 'a', instance: 'x' };
    const used = [
      {
        labels: { __name__: 'calico_nodes_used', ...labels },
        points: [
          [1, 50],
          [2, 50],
          [3, 60],
        ] as [number, number][],
      },
    ];
    const limits = [
      {
        labels: { __name__: 'calico_maximum_licensed_nodes', ...labels },
        points: [
          [1, 50],
          [2, 50],
          [3, 80],
        ] as [number, number][],
      },
    ];
    expect(exactExcess(used, limits)).toBeNull();
    const earlier = [
      {
        labels: { __name__: 'calico_maximum_licensed_nodes', ...labels },
        points: [
          [1, 50],
          [2, 50],
          [4, 80],
        ] as [number, number][],
      },
    ];
    expect(exactExcess(used, earlier)).toEqual({ excess: 10, licensed: 50 });
    // Another instance's limit does not apply.
    expect(exactExcess(used, [{ labels: { ...labels, instance: 'y' }, points: [[1, 10]] }])).toBeNull();
  });
});

describe('licence days', () => {
  const one = (values: number[]) => arr(values);
  it('each day counts once, in the worst state reported that day', () => {
    const states = new Map([
      ['valid', one([1, 1, 0, 0, N])],
      ['in-grace-period', one([0, 1, 1, 0, N])],
      ['expired', one([0, 0, 0, 1, N])],
      ['no-license-loaded', one([0, 0, 0, 0, N])],
      ['invalid', one([0, 0, 0, 0, N])],
    ]);
    const packages = new Map([['Enterprise', one([1, 1, 1, 1, N])]]);
    expect(licenceFigures('agent', 5, { states, packages, expiry: one([2e9, 2e9, 2e9, 2e9, N]) })).toEqual({
      package: 'Enterprise',
      expiry: '2033-05-18T03:33:20Z',
      days_valid: 1,
      days_in_grace: 2,
      days_expired: 1,
      days_missing: 0,
      days_invalid: 0,
      days_no_data: 1,
    });
  });

  it('the legacy gauges tell valid from not valid only', () => {
    const f = licenceFigures('legacy-agent', 3, {
      validMin: one([1, 0, N]),
      validMax: one([1, 1, N]),
      daysLeft: one([5, 4, N]),
    });
    expect(f).toMatchObject({
      days_valid: 1,
      days_not_valid: 1,
      days_no_data: 1,
      days_left: 4,
      days_in_grace: null,
    });
  });
});

describe('alert episodes', () => {
  const g: Grid = { start: 0, step: 300_000, count: 6 };
  it('run from the first firing sample to one evaluation after the last', () => {
    const counts = arr([0, 3, 5, 2, 0, 0]);
    expect(alertEdgeWindows(counts)).toEqual([1, 3]);
    const edges = new Map([
      [1, [420_000, 480_000, 540_000]],
      [3, [900_000, 960_000]],
    ]);
    const a = alertFigures(g, 'A', counts, edges, undefined);
    expect(a.episodes).toEqual([{ from: '1970-01-01T00:07:00Z', to: '1970-01-01T00:17:00Z' }]);
    expect(a.firing_seconds).toBe(600);
  });

  it('are clipped to the period and start at it when already firing', () => {
    const counts = arr([5, 5, 0, 0, 5, 5]);
    const edges = new Map([
      [0, [30_000, 90_000]],
      [1, [570_000]],
      [4, [1_230_000]],
      [5, [1_770_000]],
    ]);
    const a = alertFigures(g, 'A', counts, edges, undefined);
    expect(a.episodes).toEqual([
      { from: '1970-01-01T00:00:00Z', to: '1970-01-01T00:10:30Z' },
      { from: '1970-01-01T00:20:30Z', to: '1970-01-01T00:30:00Z' },
    ]);
  });

  it('a single evaluation lasts the interval seen elsewhere', () => {
    const a = alertFigures(g, 'A', arr([0, 1, 0, 0, 0, 0]), new Map([[1, [400_000]]]), 60_000);
    expect(a.firing_seconds).toBe(60);
  });
});
