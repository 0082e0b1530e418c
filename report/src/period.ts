// Periods of whole UTC days and the grids of windows the report is computed on. Pure; times are
// Unix milliseconds.

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** Whole UTC days: `from` is a midnight, `to` (exclusive) a later midnight. */
export interface Period {
  from: number;
  to: number;
}

/**
 * Windows that tile a span without gap or overlap: window i is [start + i·step, start + (i+1)·step).
 * Every sample falls in exactly one window.
 */
export interface Grid {
  start: number;
  step: number;
  count: number;
}

/** Milliseconds of `YYYY-MM-DD` at 00:00 UTC, or undefined when it is not a real date. */
export function parseDay(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: a real date survives the round trip.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms;
}

/** The month `YYYY-MM` as a period, or undefined when it is not one. */
export function parseMonth(text: string): Period | undefined {
  const match = /^(\d{4})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [y, m] = [Number(match[1]), Number(match[2])];
  if (m < 1 || m > 12) return undefined;
  return { from: Date.UTC(y, m - 1, 1), to: Date.UTC(y, m, 1) };
}

export function dayCount(period: Period): number {
  return Math.round((period.to - period.from) / DAY_MS);
}

/**
 * The grid of `step`-long windows from the period's start up to `end` (the period's end, or now for a
 * period in progress; the last window may then reach past now). Step divides a day, so windows never
 * straddle midnight.
 */
export function gridOf(period: Period, step: number, end = period.to): Grid {
  return { start: period.from, step, count: Math.ceil((Math.min(end, period.to) - period.from) / step) };
}

export function windowStart(grid: Grid, i: number): number {
  return grid.start + i * grid.step;
}

/** Index of the day (0-based from the period's start) that window i of a sub-day grid lies in. */
export function dayOfWindow(grid: Grid, i: number): number {
  return Math.floor((i * grid.step) / DAY_MS);
}

/** `2026-11-05` */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `2026-11-05T13:05:00Z` (whole seconds; milliseconds when there are any). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** `2026-11-05 13:05` (UTC), for people. */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
