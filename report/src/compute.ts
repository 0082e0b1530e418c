// The figures of the report from per-window values. Pure: no I/O, no clock.
import type {
  AlertFigures,
  Gap,
  LicenceFigures,
  Licensed,
  OverDay,
  Source,
  TotalReport,
  UsageFigures,
} from './model.js';
import { DAY_MS, dayOfWindow, type Grid, isoDay, isoTime, windowStart } from './period.js';
import type { Series } from './prometheus.js';

const has = (v: number | undefined): v is number => v !== undefined && !Number.isNaN(v);
/** A limit that can be compared against: Tigera's legacy agent reports 0 for "unknown", +Inf is unlimited. */
const usableLimit = (v: number | undefined): v is number => has(v) && v > 0 && Number.isFinite(v);

export interface UsageInput {
  peak: Float64Array;
  avg: Float64Array;
  limitMin: Float64Array;
  limitMax: Float64Array;
  /** Windows whose limit changed inside them: the exact largest excess of their sample pairs (null: never over). */
  refined: Map<number, Excess | null>;
}

export interface Excess {
  /** used − licensed, > 0 when over. */
  excess: number;
  licensed: number;
}

/** Windows where the limit changed inside the window and the peak is above the lower limit: only their raw samples tell whether usage was over the limit in force. */
export function windowsToRefine(input: Omit<UsageInput, 'refined'>): number[] {
  const out: number[] = [];
  for (let i = 0; i < input.peak.length; i++) {
    const [peak, lo, hi] = [input.peak[i], input.limitMin[i], input.limitMax[i]];
    if (!has(peak) || !has(lo) || !has(hi) || lo === hi) continue;
    const lowest = usableLimit(lo) ? lo : hi;
    if (usableLimit(lowest) && peak > lowest) out.push(i);
  }
  return out;
}

/**
 * The largest excess over the samples of one window: each used sample against the limit sample of the
 * same series (same labels) at or before it — both come from one scrape, so they share timestamps.
 */
export function exactExcess(used: Series[], limits: Series[]): Excess | null {
  const key = (labels: Record<string, string>) => {
    const { __name__: _, ...rest } = labels;
    return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  const limitsBySeries = new Map(limits.map((s) => [key(s.labels), s.points]));
  let best: Excess | null = null;
  for (const s of used) {
    const points = limitsBySeries.get(key(s.labels)) ?? [];
    for (const [t, value] of s.points) {
      let licensed: number | undefined;
      for (const [lt, lv] of points) if (lt <= t) licensed = lv;
      if (!usableLimit(licensed)) continue;
      const excess = value - licensed;
      if (excess > 0 && (best === null || excess > best.excess)) best = { excess, licensed };
    }
  }
  return best;
}

/** The largest value, or null (a loop: a year of 5-minute windows is too many arguments for Math.max). */
export function maxOf(values: number[]): number | null {
  let best: number | null = null;
  for (const v of values) if (best === null || v > best) best = v;
  return best;
}

/** Nearest-rank percentile of the values (q in 0–1). */
export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

const toLicensed = (v: number | undefined): Licensed =>
  v === Number.POSITIVE_INFINITY ? 'unlimited' : usableLimit(v) ? v : null;

/** Peak, p95, average, limit, days over and the limit's changes of one used/licensed pair. */
export function usageFigures(grid: Grid, input: UsageInput): UsageFigures {
  const peaks: number[] = [];
  let avgSum = 0;
  let avgCount = 0;
  // Per day: the largest excess and the limit then, and the day's peak.
  const worst = new Map<number, Excess>();
  const dayPeak = new Map<number, number>();
  const changes: { at: string; licensed: Licensed }[] = [];
  let previous: number | undefined;
  let licensed: Licensed = null;
  for (let i = 0; i < grid.count; i++) {
    const [peak, avg, lo, hi] = [input.peak[i], input.avg[i], input.limitMin[i], input.limitMax[i]];
    if (has(lo) && has(hi)) {
      // The limit in force at the window's end; after a change inside a window the next window says it.
      const next = input.limitMin[i + 1];
      const atEnd = lo === hi ? lo : has(next) && next === input.limitMax[i + 1] ? next : hi;
      if (previous !== undefined && atEnd !== previous) {
        changes.push({ at: isoTime(windowStart(grid, i)), licensed: toLicensed(atEnd) });
      }
      previous = atEnd;
      licensed = toLicensed(atEnd);
    }
    if (!has(peak)) continue;
    peaks.push(peak);
    if (has(avg)) {
      avgSum += avg;
      avgCount++;
    }
    const day = dayOfWindow(grid, i);
    dayPeak.set(day, Math.max(dayPeak.get(day) ?? peak, peak));
    let over: Excess | null = null;
    if (input.refined.has(i)) over = input.refined.get(i) ?? null;
    else if (has(lo) && lo === hi && usableLimit(lo) && peak > lo) over = { excess: peak - lo, licensed: lo };
    const before = worst.get(day);
    if (over && (!before || over.excess > before.excess)) worst.set(day, over);
  }
  const overDays: OverDay[] = [...worst.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, e]) => ({
      date: isoDay(grid.start + day * DAY_MS),
      peak: dayPeak.get(day) as number,
      licensed: e.licensed,
    }));
  return {
    max: maxOf(peaks),
    p95: percentile(peaks, 0.95),
    avg: avgCount === 0 ? null : avgSum / avgCount,
    licensed,
    days_over: overDays.length,
    over_days: overDays,
    licensed_changes: changes,
  };
}

/** Whether the licence limits this count at some time of the period (a finite, positive limit). */
export function isLimited(limitMin: Float64Array): boolean {
  return limitMin.some((v) => usableLimit(v));
}

export interface CoverageFigures {
  coverage: number;
  gaps: Gap[];
  first_seen: string | null;
  last_seen: string | null;
}

/** Coverage and gaps from the windows with samples: a gap is a run of 5-minute windows with none. */
export function coverageFigures(grid: Grid, values: Float64Array): CoverageFigures {
  const gaps: Gap[] = [];
  let covered = 0;
  let first = -1;
  let last = -1;
  let gapStart = -1;
  const closeGap = (end: number) => {
    const from = windowStart(grid, gapStart);
    const to = windowStart(grid, end);
    gaps.push({ from: isoTime(from), to: isoTime(to), seconds: (to - from) / 1000 });
    gapStart = -1;
  };
  for (let i = 0; i < grid.count; i++) {
    if (has(values[i])) {
      covered++;
      if (first < 0) first = i;
      last = i;
      if (gapStart >= 0) closeGap(i);
    } else if (gapStart < 0) gapStart = i;
  }
  if (gapStart >= 0) closeGap(grid.count);
  return {
    coverage: grid.count === 0 ? 0 : covered / grid.count,
    gaps,
    first_seen: first < 0 ? null : isoTime(windowStart(grid, first)),
    last_seen: last < 0 ? null : isoTime(windowStart(grid, last + 1)),
  };
}

/** Worst first: a day counts once, in the worst state reported that day. */
const STATES = ['expired', 'invalid', 'no-license-loaded', 'in-grace-period', 'valid'] as const;

export interface LicenceInput {
  /** Agent: per day, 1 for each state reported that day. */
  states?: Map<string, Float64Array>;
  /** Agent: per day, the package reported last (1 under its name). */
  packages?: Map<string, Float64Array>;
  /** Agent: per day, the expiry reported last (Unix seconds). */
  expiry?: Float64Array;
  /** Legacy agent: per day, min and max of calico_license_valid, and the last license_number_of_days. */
  validMin?: Float64Array;
  validMax?: Float64Array;
  daysLeft?: Float64Array;
}

const lastValue = (values: Float64Array | undefined): number | undefined => {
  if (!values) return undefined;
  for (let i = values.length - 1; i >= 0; i--) if (has(values[i])) return values[i];
  return undefined;
};

export function licenceFigures(source: Source, days: number, input: LicenceInput): LicenceFigures {
  if (source === 'legacy-agent') {
    let valid = 0;
    let notValid = 0;
    for (let d = 0; d < days; d++) {
      const lo = input.validMin?.[d];
      if (!has(lo)) continue;
      if (lo === 0) notValid++;
      else valid++;
    }
    return {
      package: null,
      expiry: null,
      days_left: lastValue(input.daysLeft) ?? null,
      days_valid: valid,
      days_in_grace: null,
      days_expired: null,
      days_missing: null,
      days_invalid: null,
      days_not_valid: notValid,
      days_no_data: days - valid - notValid,
    };
  }
  const count: Record<(typeof STATES)[number], number> = {
    expired: 0,
    invalid: 0,
    'no-license-loaded': 0,
    'in-grace-period': 0,
    valid: 0,
  };
  let noData = 0;
  for (let d = 0; d < days; d++) {
    const state = STATES.find((s) => input.states?.get(s)?.[d] === 1);
    if (state) count[state]++;
    else noData++;
  }
  let pkg: string | null = null;
  for (let d = days - 1; d >= 0 && pkg === null; d--) {
    const names = [...(input.packages?.entries() ?? [])].filter(([, v]) => has(v[d])).map(([name]) => name);
    if (names.length > 0) pkg = names.sort().join(', ');
  }
  const expiry = lastValue(input.expiry);
  return {
    package: pkg,
    expiry: expiry === undefined ? null : isoTime(expiry * 1000),
    days_valid: count.valid,
    days_in_grace: count['in-grace-period'],
    days_expired: count.expired,
    days_missing: count['no-license-loaded'],
    days_invalid: count.invalid,
    days_no_data: noData,
  };
}

/** The first and last window of every run of windows in which an alert fired: their raw samples give its start and end. */
export function alertEdgeWindows(counts: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    if (!((counts[i] as number) > 0)) continue;
    const before = i > 0 && (counts[i - 1] as number) > 0;
    const after = i + 1 < counts.length && (counts[i + 1] as number) > 0;
    if (!before || !after) out.push(i);
  }
  return out;
}

/** The smallest positive distance between sorted timestamps: the rule evaluation interval. */
export function spacingOf(timestamps: number[]): number | undefined {
  let best: number | undefined;
  for (let k = 1; k < timestamps.length; k++) {
    const d = (timestamps[k] as number) - (timestamps[k - 1] as number);
    if (d > 0 && (best === undefined || d < best)) best = d;
  }
  return best;
}

/**
 * Firing episodes of one alert: runs of windows with ALERTS samples. An episode runs from its first
 * firing sample to one evaluation interval after its last (the evaluation that found it resolved),
 * clipped to the period; windows inside a run count whole. `edges` holds the sorted sample times of
 * the run's first and last windows; `fallbackSpacing` is used when they show no interval.
 */
export function alertFigures(
  grid: Grid,
  alertname: string,
  counts: Float64Array,
  edges: Map<number, number[]>,
  fallbackSpacing: number | undefined,
): AlertFigures {
  const spacing = spacingOf([...edges.values()].flat().sort((a, b) => a - b)) ?? fallbackSpacing ?? 0;
  const end = windowStart(grid, grid.count);
  const episodes: { from: number; to: number }[] = [];
  let runStart = -1;
  for (let i = 0; i <= grid.count; i++) {
    const firing = i < grid.count && (counts[i] as number) > 0;
    if (firing && runStart < 0) runStart = i;
    if (firing || runStart < 0) continue;
    const first = edges.get(runStart)?.[0] ?? windowStart(grid, runStart);
    const lastTimes = edges.get(i - 1);
    const last = lastTimes?.[lastTimes.length - 1] ?? windowStart(grid, i) - spacing;
    // Already firing when the period began: the sample before the period's start is outside it.
    const from = runStart === 0 && first - grid.start <= spacing ? grid.start : first;
    episodes.push({ from, to: Math.min(last + spacing, end) });
    runStart = -1;
  }
  return {
    alertname,
    firing_seconds: episodes.reduce((sum, e) => sum + (e.to - e.from) / 1000, 0),
    episodes: episodes.map((e) => ({ from: isoTime(e.from), to: isoTime(e.to) })),
  };
}

type TotalUsage = TotalReport['nodes'];

/**
 * The total across clusters: peak, p95 and average of the per-window sum of the clusters' values
 * (a cluster without data in a window adds nothing: coverage says how much is missing), the sum of the
 * limits, and the days on which any cluster was over.
 */
export function totalUsage(
  grid: Grid,
  clusters: { input: Omit<UsageInput, 'refined'>; figures: UsageFigures }[],
): TotalUsage {
  const peaks: number[] = [];
  const avgs: number[] = [];
  for (let i = 0; i < grid.count; i++) {
    let peak = 0;
    let avg = 0;
    let any = false;
    for (const { input } of clusters) {
      const p = input.peak[i];
      if (!has(p)) continue;
      any = true;
      peak += p;
      avg += input.avg[i] ?? p;
    }
    if (any) {
      peaks.push(peak);
      avgs.push(avg);
    }
  }
  let licensed: Licensed = 0;
  for (const { figures } of clusters) {
    if (licensed === null || figures.licensed === null) licensed = null;
    else if (licensed === 'unlimited' || figures.licensed === 'unlimited') licensed = 'unlimited';
    else licensed += figures.licensed;
  }
  const overDays = new Set(clusters.flatMap(({ figures }) => figures.over_days.map((d) => d.date)));
  return {
    max: maxOf(peaks),
    p95: percentile(peaks, 0.95),
    avg: avgs.length === 0 ? null : avgs.reduce((a, b) => a + b, 0) / avgs.length,
    licensed: clusters.length === 0 ? null : licensed,
    days_over: overDays.size,
  };
}
