// Prometheus durations ("90s", "10m", "1h30m", "7d"), as rule files and PromQL range selectors accept them.

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 86_400],
  ['w', 7 * 86_400],
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
  ['ms', 0.001],
];

// The units must appear in this order, each at most once (Prometheus' model.ParseDuration).
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export const DURATION_EXPECTED = 'a Prometheus duration such as 30s, 10m, 1h, 1h30m or 7d';

/** Seconds in a Prometheus duration, or undefined when the text is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  if (text === '') return undefined;
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  let seconds = 0;
  UNITS.forEach(([, factor], i) => {
    const part = match[i + 1];
    if (part !== undefined) seconds += Number(part) * factor;
  });
  return seconds;
}

/**
 * A number of seconds as a PromQL expression a reader can check at a glance:
 * 2592000 → "30 * 86400", 3600 → "3600", 5400 → "90 * 60", 45 → "45".
 */
export function secondsExpr(seconds: number): string {
  for (const unit of [86_400, 3_600, 60]) {
    if (seconds === unit) return String(unit);
    if (seconds > unit && Number.isInteger(seconds / unit)) return `${seconds / unit} * ${unit}`;
  }
  return String(seconds);
}

/** Days as a PromQL expression in seconds: 30 → "30 * 86400", 0.5 → "0.5 * 86400". */
export function daysExpr(days: number): string {
  return `${days} * 86400`;
}
